// The blocking cluster client of redis_cluster.hpp, which follows the slot map and the
// redirects of redis_slot_map.hpp. It is written as one loop over a batch of
// commands (command() is a batch of one): each round groups the commands still open by
// the node they must go to, writes each group in one round trip, and sorts every answer
// into done or again; the rounds end when nothing is open or the budget is spent.
#include "verifyd/redis_cluster.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <thread>

#include "verifyd/log.hpp"
#include "verifyd/lua_scripts.hpp"
#include "verifyd/metrics.hpp"

namespace verifyd {
namespace {

using Clock = std::chrono::steady_clock;

// The pause before a round that must wait (TRYAGAIN, CLUSTERDOWN, a slot with no node):
// from kFirstPause, doubling up to kLongestPause, within the call's retry budget.
constexpr auto kFirstPause = std::chrono::milliseconds(10);
constexpr auto kLongestPause = std::chrono::milliseconds(200);

timeval to_timeval(int timeout_ms) {
    return timeval{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
}

// A connection for CLUSTER SLOTS and nothing else: unlike open_redis it loads no library,
// so it also works on a replica, which a seed may be.
redisContext* open_for_slots(const ClusterNode& node, const RedisEndpoint& credentials,
                             int timeout_ms) {
    redisContext* context =
        redisConnectWithTimeout(node.host.c_str(), node.port, to_timeval(timeout_ms));
    bool ok =
        context && !context->err && redisSetTimeout(context, to_timeval(timeout_ms)) == REDIS_OK;
    if (ok && !credentials.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!credentials.user.empty()) auth.push_back(credentials.user);
        auth.push_back(credentials.password);
        CommandArgv argv(auth);
        ReplyHandle reply(static_cast<redisReply*>(
            redisCommandArgv(context, argv.count(), argv.argv.data(), argv.lengths.data())));
        ok = reply && reply->type != REDIS_REPLY_ERROR;
    }
    if (!ok && context) {
        redisFree(context);
        context = nullptr;
    }
    return context;
}

// Whether a failed read or write means Redis cannot have run the command: the connection
// was refused, closed or reset. A timeout is not such a failure (Redis may be slow).
bool surely_not_run(const redisContext* context, int saved_errno) {
    if (context->err == REDIS_ERR_EOF) return true;
    return context->err == REDIS_ERR_IO && saved_errno != EAGAIN && saved_errno != EWOULDBLOCK &&
           saved_errno != ETIMEDOUT && saved_errno != EINTR;
}

}  // namespace

struct ClusterClient::Impl {
    // One command of a batch while it is open.
    struct Call {
        size_t index;                    // in the batch and its answers
        std::optional<ClusterNode> ask;  // ASKING to this node first, once
        bool reloaded = false;           // the library was loaded again for it
        int redirects = 0;
    };

    // What one round left to do before the next.
    struct Round {
        std::vector<Call> again;
        bool pause = false;    // wait before the next round (TRYAGAIN, a node away)
        bool refresh = false;  // read the map before the next round
    };

    RedisEndpoint credentials;
    int timeout_ms;
    std::chrono::milliseconds budget;
    Metrics* metrics;
    SlotMap map;
    // Every node a map named or a seed: where to ask for the next map when the
    // primaries are gone.
    std::vector<ClusterNode> known;
    std::map<std::string, redisContext*> connections;  // by ClusterNode::name()
    bool refresh_due = true;

    Impl(const std::vector<HostPort>& seeds, const RedisEndpoint& credentials_in, int timeout,
         std::chrono::milliseconds retry_budget, Metrics* metrics_in)
        : credentials(credentials_in),
          timeout_ms(timeout),
          budget(retry_budget),
          metrics(metrics_in) {
        for (const HostPort& seed : seeds) remember(ClusterNode{seed.host, seed.port});
    }

    ~Impl() {
        for (auto& entry : connections) redisFree(entry.second);
    }

    void remember(const ClusterNode& node) {
        if (std::find(known.begin(), known.end(), node) == known.end()) known.push_back(node);
    }

    redisContext* connection(const ClusterNode& node) {
        auto found = connections.find(node.name());
        if (found != connections.end()) return found->second;
        RedisEndpoint endpoint = credentials;
        endpoint.unix_socket = false;
        endpoint.host = node.host;
        endpoint.port = node.port;
        endpoint.db = 0;  // a cluster has only database 0
        endpoint.sentinels.clear();
        redisContext* context = open_redis(endpoint, timeout_ms);
        if (context) connections[node.name()] = context;
        return context;
    }

    void drop(const ClusterNode& node) {
        auto found = connections.find(node.name());
        if (found == connections.end()) return;
        redisFree(found->second);
        connections.erase(found);
    }

    // The map one node gives, on the connection to it if there is one.
    std::optional<SlotMap> slots_from(const ClusterNode& node) {
        auto found = connections.find(node.name());
        redisContext* context = found != connections.end()
                                    ? found->second
                                    : open_for_slots(node, credentials, timeout_ms);
        if (!context) return std::nullopt;
        ReplyHandle reply(static_cast<redisReply*>(redisCommand(context, "CLUSTER SLOTS")));
        if (found == connections.end())
            redisFree(context);
        else if (!reply)
            drop(node);
        return SlotMap::from_reply(reply.get(), node);
    }

    bool refresh() {
        std::vector<ClusterNode> candidates = map.primaries();
        for (const ClusterNode& node : known)
            if (std::find(candidates.begin(), candidates.end(), node) == candidates.end())
                candidates.push_back(node);
        std::optional<SlotMap> chosen;
        for (const ClusterNode& node : candidates) {
            auto answer = slots_from(node);
            if (!answer) continue;
            // A node that has not heard of a change yet may give a map with holes; a
            // complete one from another node is better, the holes better than nothing.
            const bool complete = answer->complete();
            if (!chosen || complete) chosen = std::move(answer);
            if (complete) break;
        }
        if (!chosen) return false;
        map = std::move(*chosen);
        refresh_due = false;
        const std::vector<ClusterNode> primaries = map.primaries();
        for (const ClusterNode& node : primaries) remember(node);
        // A node no longer primary of anything would only answer MOVED.
        for (auto it = connections.begin(); it != connections.end();) {
            bool serving = std::any_of(primaries.begin(), primaries.end(),
                                       [&](const auto& node) { return node.name() == it->first; });
            if (serving) {
                ++it;
            } else {
                redisFree(it->second);
                it = connections.erase(it);
            }
        }
        return true;
    }

    std::vector<Result<ReplyHandle>> pipeline(
        const std::vector<std::pair<int, std::vector<std::string>>>& commands) {
        std::vector<Result<ReplyHandle>> answers(commands.size());
        if (refresh_due) refresh();
        const auto deadline = Clock::now() + budget;
        auto pause = kFirstPause;
        std::vector<Call> open;
        for (size_t i = 0; i < commands.size(); ++i) open.push_back(Call{i, {}, false, 0});
        while (!open.empty()) {
            Round round;
            std::vector<std::pair<ClusterNode, std::vector<Call>>> groups;
            for (Call& call : open) {
                auto node = call.ask ? call.ask : map.primary(commands[call.index].first);
                if (!node) {
                    round.again.push_back(std::move(call));
                    round.pause = round.refresh = true;
                    continue;
                }
                auto group = std::find_if(groups.begin(), groups.end(),
                                          [&](const auto& entry) { return entry.first == *node; });
                if (group == groups.end())
                    groups.emplace_back(*node, std::vector<Call>{std::move(call)});
                else
                    group->second.push_back(std::move(call));
            }
            for (auto& [node, calls] : groups) send_group(node, calls, commands, answers, round);
            if (round.again.empty()) break;
            const auto now = Clock::now();
            if (now >= deadline) {
                for (const Call& call : round.again)
                    answers[call.index].error = store_unavailable();
                log_event(LogLevel::Warn, "redis cluster did not settle within the retry budget",
                          {{"commands", round.again.size()}, {"budget_ms", budget.count()}});
                break;
            }
            if (round.refresh) refresh();
            if (round.pause) {
                std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
                pause = std::min<std::chrono::milliseconds>(pause * 2, kLongestPause);
            }
            open = std::move(round.again);
        }
        return answers;
    }

    // Writes `calls` to `node` in one go, then reads their answers in order.
    void send_group(const ClusterNode& node, std::vector<Call>& calls,
                    const std::vector<std::pair<int, std::vector<std::string>>>& commands,
                    std::vector<Result<ReplyHandle>>& answers, Round& round) {
        redisContext* context = connection(node);
        if (!context) {
            record(node, std::nullopt, true);
            for (Call& call : calls) round.again.push_back(std::move(call));
            round.pause = round.refresh = true;
            return;
        }
        const auto written = Clock::now();
        for (const Call& call : calls) {
            if (call.ask) redisAppendCommand(context, "ASKING");
            CommandArgv argv(commands[call.index].second);
            redisAppendCommandArgv(context, argv.count(), argv.argv.data(), argv.lengths.data());
        }
        bool reload = false;
        bool reconnect = false;
        for (size_t i = 0; i < calls.size(); ++i) {
            Call& call = calls[i];
            ReplyHandle reply;
            bool read = true;
            int saved_errno = 0;
            for (int replies = call.ask ? 2 : 1; read && replies > 0; --replies) {
                void* raw = nullptr;
                read = redisGetReply(context, &raw) == REDIS_OK && raw;
                saved_errno = errno;
                reply.reset(static_cast<redisReply*>(raw));
            }
            if (!read) {
                record(node, written, true);
                lost_connection(node, context, saved_errno, calls, i, answers, round);
                return;
            }
            call.ask.reset();  // followed once, whatever the target answered
            if (reply->type != REDIS_REPLY_ERROR) {
                answers[call.index] = Result<ReplyHandle>{std::nullopt, std::move(reply)};
                continue;
            }
            const std::string message = reply_string(reply.get());
            const auto& args = commands[call.index].second;
            Redirect redirect = parse_redirect(message);
            if (redirect.node.host.empty()) redirect.node.host = node.host;
            if (metrics) metrics->count_redis_redirect(redirect.kind);
            switch (redirect.kind) {
                case Redirect::Kind::Moved:
                    map.move(redirect.slot, redirect.node);
                    refresh_due = true;
                    redirected(std::move(call), answers, round, message);
                    continue;
                case Redirect::Kind::Ask:
                    call.ask = redirect.node;
                    redirected(std::move(call), answers, round, message);
                    continue;
                case Redirect::Kind::ClusterDown:
                    refresh_due = true;
                    [[fallthrough]];
                case Redirect::Kind::TryAgain:
                    // Paused, so no spin: the budget bounds these, not the redirect count
                    // (a migrating slot answers ASK, then TRYAGAIN, until the move ends).
                    call.redirects = 0;
                    round.again.push_back(std::move(call));
                    round.pause = true;
                    continue;
                case Redirect::Kind::None:
                    break;
            }
            if (is_function_missing(message) && !call.reloaded && args[0] == "FCALL") {
                call.reloaded = true;
                reload = true;
                round.again.push_back(std::move(call));
                continue;
            }
            if (error_needs_new_connection(message)) {
                // A primary demoted by a failover refuses the write without running it.
                reconnect = true;
                round.again.push_back(std::move(call));
                round.pause = round.refresh = true;
                continue;
            }
            const std::string& what = args[0] == "FCALL" && args.size() > 1 ? args[1] : args[0];
            answers[call.index] =
                Result<ReplyHandle>{redis_error_reply(what, message), std::move(reply)};
        }
        record(node, written, false);
        if (reconnect) {
            drop(node);
        } else if (reload) {
            load_library(node, context);
        }
    }

    // A round trip to `node` that began at `written` (none: no connection), and whether
    // it failed: no connection, or no answer. An error reply is an answer, the command's
    // own (or a redirect, counted apart), as on the API's lanes.
    void record(const ClusterNode& node, std::optional<Clock::time_point> written, bool failed) {
        if (!metrics) return;
        Metrics::RedisNode& stats = metrics->redis_node(node.name());
        if (written)
            stats.timings.observe(std::chrono::duration<double>(Clock::now() - *written).count());
        if (failed) stats.errors.fetch_add(1, std::memory_order_relaxed);
    }

    void redirected(Call call, std::vector<Result<ReplyHandle>>& answers, Round& round,
                    const std::string& message) {
        if (++call.redirects > kMaxClusterRedirects) {
            log_event(LogLevel::Warn, "redis cluster redirected a command too often",
                      {{"error", message}});
            answers[call.index].error = store_unavailable();
            return;
        }
        round.again.push_back(std::move(call));
    }

    // The connection failed while reading the answer of calls[failed]: it and every
    // call after it in the group were written and are unanswered.
    void lost_connection(const ClusterNode& node, redisContext* context, int saved_errno,
                         std::vector<Call>& calls, size_t failed,
                         std::vector<Result<ReplyHandle>>& answers, Round& round) {
        const bool retry = surely_not_run(context, saved_errno);
        log_event(LogLevel::Warn, "redis cluster node connection lost",
                  {{"node", node.name()}, {"error", context->errstr}, {"retried", retry}});
        for (size_t i = failed; i < calls.size(); ++i) {
            if (retry) {
                calls[i].ask.reset();
                round.again.push_back(std::move(calls[i]));
            } else {
                answers[calls[i].index].error = store_unavailable();
            }
        }
        drop(node);
        round.pause = round.refresh = true;
    }

    // This node lost the function library (a promoted replica, FUNCTION FLUSH).
    void load_library(const ClusterNode& node, redisContext* context) {
        ReplyHandle reply(static_cast<redisReply*>(
            redisCommand(context, "FUNCTION LOAD %s", lua_library().source)));
        if (!reply) {
            drop(node);
            return;
        }
        if (library_loaded(reply.get()))
            log_event(LogLevel::Warn, "redis had lost verifyd's function library: loaded again",
                      {{"library", lua_library().name}, {"node", node.name()}});
    }

    bool primaries_answer() {
        for (const ClusterNode& node : map.primaries()) {
            redisContext* context = connection(node);
            if (!context) return false;
            ReplyHandle reply(static_cast<redisReply*>(redisCommand(context, "PING")));
            if (!reply || reply->type == REDIS_REPLY_ERROR) {
                drop(node);
                return false;
            }
        }
        return true;
    }

    bool all_slots_served() {
        if (refresh_due || !map.complete()) refresh();
        if (map.complete() && primaries_answer()) return true;
        return refresh() && map.complete() && primaries_answer();
    }
};

ClusterClient::ClusterClient(std::vector<HostPort> seeds, const RedisEndpoint& credentials,
                             int timeout_ms, std::chrono::milliseconds retry_budget,
                             Metrics* metrics)
    : impl_(std::make_unique<Impl>(seeds, credentials, timeout_ms, retry_budget, metrics)) {
    impl_->refresh();
}

ClusterClient::~ClusterClient() = default;

Result<ReplyHandle> ClusterClient::command(int slot, const std::vector<std::string>& args) {
    auto answers = impl_->pipeline({{slot, args}});
    return std::move(answers.front());
}

std::vector<Result<ReplyHandle>> ClusterClient::pipeline(
    const std::vector<std::pair<int, std::vector<std::string>>>& commands) {
    return impl_->pipeline(commands);
}

bool ClusterClient::refresh() {
    return impl_->refresh();
}

bool ClusterClient::all_slots_served() {
    return impl_->all_slots_served();
}

const SlotMap& ClusterClient::slot_map() const {
    return impl_->map;
}

}  // namespace verifyd
