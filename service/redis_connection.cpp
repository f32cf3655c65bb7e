// Opening connections to the Redis master and reading Redis's error replies (see
// redis_connection.hpp). Every connection of verifyd, blocking or pipelined, starts here.
#include "verifyd/redis_connection.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "verifyd/log.hpp"
#include "verifyd/lua_scripts.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

constexpr int kMaxBackoffMs = 1000;

// The master the sentinels name, asking each in turn until one answers.
std::optional<HostPort> master_from_sentinels(const RedisEndpoint& endpoint, timeval timeout) {
    for (const HostPort& sentinel : endpoint.sentinels) {
        redisContext* context =
            redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port, timeout);
        std::optional<HostPort> master;
        if (context && !context->err && redisSetTimeout(context, timeout) == REDIS_OK) {
            bool authenticated = true;
            if (!endpoint.sentinel_password.empty()) {
                ReplyHandle auth(static_cast<redisReply*>(
                    redisCommand(context, "AUTH %s", endpoint.sentinel_password.c_str())));
                authenticated = auth && auth->type != REDIS_REPLY_ERROR;
            }
            ReplyHandle reply(authenticated ? static_cast<redisReply*>(redisCommand(
                                                  context, "SENTINEL get-master-addr-by-name %s",
                                                  endpoint.master_name.c_str()))
                                            : nullptr);
            if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
                master = HostPort{reply_string(reply->element[0]),
                                  std::atoi(reply_string(reply->element[1]).c_str())};
        }
        if (context) redisFree(context);
        if (master) return master;
    }
    return std::nullopt;
}

// After a failover the old master may still answer, as a replica: only a master will do.
bool is_master(redisContext* context) {
    ReplyHandle role(static_cast<redisReply*>(redisCommand(context, "ROLE")));
    return role && role->type == REDIS_REPLY_ARRAY && role->elements > 0 &&
           reply_string(role->element[0]) == "master";
}

bool authenticate_and_select(redisContext* context, const RedisEndpoint& endpoint) {
    auto ok = [](void* raw) {
        ReplyHandle reply(static_cast<redisReply*>(raw));
        return reply && reply->type != REDIS_REPLY_ERROR;
    };
    if (!endpoint.password.empty()) {
        if (endpoint.user.empty()) {
            if (!ok(redisCommand(context, "AUTH %s", endpoint.password.c_str()))) return false;
        } else if (!ok(redisCommand(context, "AUTH %s %s", endpoint.user.c_str(),
                                    endpoint.password.c_str()))) {
            return false;
        }
    }
    return endpoint.db == 0 || ok(redisCommand(context, "SELECT %d", endpoint.db));
}

// The release's function library; another replica of the same release may have loaded
// it already. Redis keeps functions across restarts (RDB, AOF) and gives them to its
// replicas, so this is mostly a no-op after the first connection.
bool load_library(redisContext* context) {
    ReplyHandle reply(
        static_cast<redisReply*>(redisCommand(context, "FUNCTION LOAD %s", lua_library().source)));
    return library_loaded(reply.get());
}

}  // namespace

void ReplyFree::operator()(redisReply* reply) const {
    freeReplyObject(reply);
}

std::string reply_string(const redisReply* reply) {
    if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS ||
                  reply->type == REDIS_REPLY_ERROR))
        return std::string(reply->str, reply->len);
    if (reply && reply->type == REDIS_REPLY_INTEGER) return std::to_string(reply->integer);
    return {};
}

long long reply_integer(const redisReply* reply) {
    if (reply && reply->type == REDIS_REPLY_INTEGER) return reply->integer;
    return std::atoll(reply_string(reply).c_str());
}

namespace {

// FCALL's second argument names a script of lua/: the function it is sent as.
std::optional<std::string> function_of(const std::vector<std::string>& args) {
    if (args.size() < 2 || args[0] != "FCALL") return std::nullopt;
    return lua_function(args[1]);
}

// "<marker><n>\r\n", RESP's header of an array or a bulk string.
void append_header(std::string& out, char marker, size_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out += marker;
    out.append(digits, end);
    out += "\r\n";
}

void append_bulk(std::string& out, std::string_view text) {
    append_header(out, '$', text.size());
    out += text;
    out += "\r\n";
}

}  // namespace

std::string encode_command(const std::vector<std::string>& args) {
    const std::optional<std::string> function = function_of(args);
    size_t size = 16 + (function ? function->size() : 0);
    for (const auto& arg : args) size += arg.size() + 16;
    std::string out;
    out.reserve(size);
    append_header(out, '*', args.size());
    for (size_t i = 0; i < args.size(); ++i)
        append_bulk(out, i == 1 && function ? *function : args[i]);
    return out;
}

CommandArgv::CommandArgv(const std::vector<std::string>& args) {
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    auto named = function_of(args);
    if (!named) return;
    function = std::move(*named);
    argv[1] = function.data();
    lengths[1] = function.size();
}

redisContext* open_redis(const RedisEndpoint& endpoint, int timeout_ms) {
    timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    HostPort server{endpoint.host, endpoint.port};
    const bool sentinels = !endpoint.sentinels.empty();
    if (sentinels) {
        auto master = master_from_sentinels(endpoint, timeout);
        if (master) server = *master;
    }
    redisContext* context =
        endpoint.unix_socket ? redisConnectUnixWithTimeout(endpoint.path.c_str(), timeout)
                             : redisConnectWithTimeout(server.host.c_str(), server.port, timeout);
    bool ok = context && !context->err && redisSetTimeout(context, timeout) == REDIS_OK &&
              authenticate_and_select(context, endpoint) && (!sentinels || is_master(context)) &&
              load_library(context);
    if (!ok) {
        if (context) redisFree(context);
        return nullptr;
    }
    // Only on TCP: on a unix socket it fails and leaves the context in error.
    if (!endpoint.unix_socket) redisEnableKeepAlive(context);
    return context;
}

ApiError redis_error_reply(const std::string& what, const std::string& message) {
    // A missing or existing consumer group is part of the outbox's normal life, and a
    // cluster's redirections of a cluster's (redis_cluster.hpp follows them).
    const bool redirected = starts_with(message, "MOVED ") || starts_with(message, "ASK ") ||
                            starts_with(message, "TRYAGAIN") || starts_with(message, "CLUSTERDOWN");
    bool expected =
        redirected || starts_with(message, "NOGROUP") || starts_with(message, "BUSYGROUP");
    if (!expected)
        log_event(LogLevel::Error, "redis error", {{"command", what}, {"error", message}});
    bool transient = redirected || starts_with(message, "LOADING") ||
                     starts_with(message, "READONLY") || starts_with(message, "BUSY") ||
                     starts_with(message, "MASTERDOWN");
    return transient ? store_unavailable() : make_error(ErrorCode::InternalError);
}

bool error_needs_new_connection(const std::string& message) {
    return starts_with(message, "READONLY") || starts_with(message, "MASTERDOWN");
}

bool library_loaded(const redisReply* reply) {
    if (!reply) return false;
    if (reply->type != REDIS_REPLY_ERROR) return true;
    const std::string message = reply_string(reply);
    // Loaded by another connection (or replica of this release) first.
    if (message.find("already exists") != std::string::npos) return true;
    log_event(LogLevel::Error, "redis refused verifyd's function library",
              {{"library", lua_library().name}, {"error", message}});
    return false;
}

bool is_function_missing(const std::string& message) {
    return starts_with(message, "ERR Function not found");
}

redisContext* Reconnector::open(const RedisEndpoint& endpoint, int timeout_ms) {
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) return nullptr;
    redisContext* context = open_redis(endpoint, timeout_ms);
    if (context) {
        backoff_ms_ = 0;
    } else {
        backoff_ms_ = std::min(kMaxBackoffMs, std::max(50, backoff_ms_ * 2));
        next_attempt_ = now + std::chrono::milliseconds(backoff_ms_);
    }
    return context;
}

}  // namespace verifyd
