// The store's blocking calls (store.hpp), for the outbox's, timers' and events' threads:
// a connection per thread, to the one Redis or a cluster client, that while Redis is
// unreachable retries with a growing backoff and answers 503 at once in between, so
// callers never queue behind a dead server. Not for: the API's calls, which go through
// the lanes (store.cpp).
#include <hiredis/hiredis.h>

#include <algorithm>
#include <memory>

#include "verifyd/metrics.hpp"
#include "verifyd/redis_cluster.hpp"
#include "verifyd/store.hpp"

namespace verifyd {

// The calling thread's blocking connection: to the one Redis, or a cluster client.
struct Store::Connection {
    const Store* owner = nullptr;
    redisContext* context = nullptr;
    Reconnector reconnector;
    std::unique_ptr<ClusterClient> cluster;

    ~Connection() { drop(); }

    void drop() {
        if (context) redisFree(context);
        context = nullptr;
    }

    ReplyHandle command(const std::vector<std::string>& args) {
        CommandArgv command(args);
        return ReplyHandle(static_cast<redisReply*>(redisCommandArgv(
            context, command.count(), command.argv.data(), command.lengths.data())));
    }

    // Connects if there is no connection and the backoff has passed.
    bool ensure(const RedisEndpoint& endpoint, int timeout_ms) {
        if (!context) context = reconnector.open(endpoint, timeout_ms);
        return context != nullptr;
    }
};

Store::Connection& Store::connection() {
    thread_local Connection connection;
    if (connection.owner != this) {
        connection.drop();
        connection.owner = this;
        connection.reconnector = {};
        connection.cluster.reset();
    }
    if (!endpoint_.cluster_seeds.empty() && !connection.cluster)
        connection.cluster = std::make_unique<ClusterClient>(
            endpoint_.cluster_seeds, endpoint_, timeout_ms_, ClusterClient::kRetryBudget, metrics_);
    return connection;
}

Result<ReplyHandle> Store::command(const std::vector<std::string>& args) {
    Connection& c = connection();
    if (c.cluster) return c.cluster->command(std::max(0, command_slot(args)), args);
    Result<ReplyHandle> result;
    const bool script = args.size() > 1 && args[0] == "FCALL";
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!c.ensure(endpoint_, timeout_ms_)) break;
        ReplyHandle reply = c.command(args);
        if (!reply) {
            // A broken or timed-out connection may still deliver a stale reply: drop it.
            c.drop();
            break;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            std::string message = reply_string(reply.get());
            // A new connection loads the library again.
            if (is_function_missing(message) && attempt == 0) {
                c.drop();
                continue;
            }
            if (metrics_) metrics_->count_redis_error();
            result.error = redis_error_reply(script ? args[1] : args[0], message);
            if (error_needs_new_connection(message)) c.drop();
            result.value = std::move(reply);
            return result;
        }
        result.value = std::move(reply);
        return result;
    }
    if (metrics_) metrics_->count_redis_error();
    result.error = store_unavailable();
    return result;
}

std::vector<Result<ReplyHandle>> Store::commands(
    const std::vector<std::vector<std::string>>& list) {
    Connection& c = connection();
    if (c.cluster) {
        std::vector<std::pair<int, std::vector<std::string>>> routed;
        for (const auto& args : list) routed.emplace_back(std::max(0, command_slot(args)), args);
        return c.cluster->pipeline(routed);
    }
    std::vector<Result<ReplyHandle>> results(list.size());
    size_t answered = 0;
    if (c.ensure(endpoint_, timeout_ms_)) {
        for (const auto& args : list) {
            CommandArgv command(args);
            redisAppendCommandArgv(c.context, command.count(), command.argv.data(),
                                   command.lengths.data());
        }
        for (; answered < list.size(); ++answered) {
            void* raw = nullptr;
            if (redisGetReply(c.context, &raw) != REDIS_OK || !raw) {
                c.drop();
                break;
            }
            ReplyHandle reply(static_cast<redisReply*>(raw));
            if (reply->type == REDIS_REPLY_ERROR) {
                const std::string message = reply_string(reply.get());
                const auto& args = list[answered];
                const bool script = args.size() > 1 && args[0] == "FCALL";
                results[answered].error = redis_error_reply(script ? args[1] : args[0], message);
                if (metrics_) metrics_->count_redis_error();
                // The next connection loads the library again, or finds the new master.
                if (is_function_missing(message) || error_needs_new_connection(message)) c.drop();
            }
            results[answered].value = std::move(reply);
        }
    }
    if (answered < list.size() && metrics_) metrics_->count_redis_error();
    for (; answered < list.size(); ++answered) results[answered].error = store_unavailable();
    return results;
}

Result<ReplyHandle> Store::fcall(const char* script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args) {
    std::vector<std::string> command_args = {"FCALL", script, std::to_string(keys.size())};
    command_args.insert(command_args.end(), keys.begin(), keys.end());
    command_args.insert(command_args.end(), args.begin(), args.end());
    return command(command_args);
}

}  // namespace verifyd
