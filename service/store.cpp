// Redis access for the store: a hiredis connection per worker thread, the scripts of
// lua/ loaded on every new connection and called by EVALSHA, and the one translation
// of a script's reply into data or an ApiError (script_error). While Redis is
// unreachable a thread retries its connection with a growing backoff and answers
// 503 at once in between, so callers never queue behind a dead server.
#include "verifyd/store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <unordered_map>

#include "verifyd/log.hpp"
#include "verifyd/lua_scripts.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

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

using Clock = std::chrono::steady_clock;

constexpr size_t kTagLength = 22;
constexpr size_t kSuffixLength = 22;
constexpr int kMaxBackoffMs = 1000;

bool is_url_safe(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

std::string counter_key(const Caller& caller) {
    return "k:" + caller.key_id;
}
std::string record_prefix(const std::string& tag) {
    return "o:{" + tag + "}";
}

// The one place where a script's refusal becomes an API error.
ApiError script_error(const redisReply* reply) {
    int code = static_cast<int>(reply_integer(reply->element[0]));
    auto known = error_code_from_int(code);
    if (!known) return make_error(ErrorCode::InternalError);
    int retry_after = reply->elements > 1 ? static_cast<int>(reply_integer(reply->element[1])) : 0;
    switch (*known) {
        case ErrorCode::OtpRateLimit:
            return with_retry_after(
                make_error(*known, "Too many codes sent to this number. Retry after " +
                                       std::to_string(retry_after) + " seconds."),
                retry_after);
        case ErrorCode::RateLimitExceeded:
            return with_retry_after(
                make_error(*known, "Too many requests for this API key. Retry after " +
                                       std::to_string(retry_after) + " seconds."),
                retry_after);
        default:
            return make_error(*known);
    }
}

Verification parse_verification(const RecordRef& ref, const redisReply* fields, int64_t now_ms) {
    std::unordered_map<std::string, std::string> map;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        map[reply_string(fields->element[i])] = reply_string(fields->element[i + 1]);
    auto number = [&](const char* name) { return std::atoll(map[name].c_str()); };
    Verification v;
    v.ref = ref;
    v.account = map["a"];
    v.to = map["to"];
    v.channel = map["ch"];
    v.fallback = map["fb"];
    v.locale = map["loc"].empty() ? kDefaultLocale : map["loc"];
    v.code_length = static_cast<int>(number("len"));
    v.max_attempts = static_cast<int>(number("mx"));
    v.attempts = static_cast<int>(number("n"));
    v.created_ms = number("c");
    v.expires_ms = number("e");
    v.sandbox = map["sb"] == "1";
    v.code = map["k"];
    v.template_name = map["tn"].empty() ? kDefaultTemplateName : map["tn"];
    v.template_variables = map["tv"];
    v.delivery_status = map["ds"].empty() && v.sandbox ? "sandboxed" : map["ds"];
    v.delivery_channel = map["dch"].empty() ? v.channel : map["dch"];
    v.fallback_reason = map["fr"];
    v.delivery_error = map["de"];
    v.provider_message_id = map["pid"];
    const std::string& status = map["st"];
    if (status == "a") {
        v.status = "approved";
    } else if (status == "l") {
        v.status = "locked";
    } else if (status == "c" || status == "s") {
        v.status = "canceled";
    } else {
        v.status = now_ms >= v.expires_ms ? "expired" : "pending";
    }
    return v;
}

std::string format_send_limits(const std::vector<SendWindow>& windows) {
    std::string out;
    for (const auto& window : windows) {
        if (!out.empty()) out += ',';
        out += std::to_string(window.count) + "/" + std::to_string(window.seconds);
    }
    return out;
}

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

}  // namespace

std::string number_key(const std::string& tag) {
    return "n:{" + tag + "}";
}
std::string record_key(const RecordRef& ref) {
    return record_prefix(ref.tag) + ref.suffix;
}

void ReplyFree::operator()(redisReply* reply) const {
    freeReplyObject(reply);
}

std::optional<RecordRef> parse_record_id(const std::string& id, const char* prefix) {
    const std::string expected_prefix(prefix);
    if (id.size() != expected_prefix.size() + kTagLength + kSuffixLength ||
        id.compare(0, expected_prefix.size(), expected_prefix) != 0)
        return std::nullopt;
    std::string rest = id.substr(expected_prefix.size());
    if (!std::all_of(rest.begin(), rest.end(), is_url_safe)) return std::nullopt;
    return RecordRef{rest.substr(0, kTagLength), rest.substr(kTagLength)};
}

std::string make_record_id(const char* prefix, const RecordRef& ref) {
    return std::string(prefix) + ref.tag + ref.suffix;
}

struct Store::Connection {
    const Store* owner = nullptr;
    redisContext* context = nullptr;
    std::map<std::string, std::string> script_shas;
    Clock::time_point next_attempt{};
    int backoff_ms = 0;

    ~Connection() { drop(); }

    void drop() {
        if (context) redisFree(context);
        context = nullptr;
    }

    ReplyHandle command(const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (const auto& arg : args) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        auto* reply = static_cast<redisReply*>(
            redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        return ReplyHandle(reply);
    }

    bool load_scripts() {
        for (const auto& script : lua_scripts()) {
            ReplyHandle reply = command({"SCRIPT", "LOAD", script.source});
            if (!reply || reply->type != REDIS_REPLY_STRING) return false;
            script_shas[script.name] = reply_string(reply.get());
        }
        return true;
    }

    // Connects if there is no connection and the backoff has passed.
    bool ensure(const RedisEndpoint& endpoint, int timeout_ms) {
        if (context) return true;
        auto now = Clock::now();
        if (now < next_attempt) return false;
        timeval timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        HostPort server{endpoint.host, endpoint.port};
        const bool sentinels = !endpoint.sentinels.empty();
        if (sentinels) {
            auto master = master_from_sentinels(endpoint, timeout);
            if (master) server = *master;
        }
        context = endpoint.unix_socket
                      ? redisConnectUnixWithTimeout(endpoint.path.c_str(), timeout)
                      : redisConnectWithTimeout(server.host.c_str(), server.port, timeout);
        bool ok = context && !context->err && redisSetTimeout(context, timeout) == REDIS_OK &&
                  authenticate_and_select(context, endpoint) &&
                  (!sentinels || is_master(context)) && load_scripts();
        if (!ok) {
            drop();
            backoff_ms = std::min(kMaxBackoffMs, std::max(50, backoff_ms * 2));
            next_attempt = now + std::chrono::milliseconds(backoff_ms);
            return false;
        }
        // Only on TCP: on a unix socket it fails and leaves the context in error.
        if (!endpoint.unix_socket) redisEnableKeepAlive(context);
        backoff_ms = 0;
        return true;
    }
};

Store::Store(RedisEndpoint endpoint, int timeout_ms, StoreLimits limits, Metrics* metrics)
    : endpoint_(std::move(endpoint)),
      timeout_ms_(timeout_ms),
      limits_(std::move(limits)),
      send_limits_arg_(format_send_limits(limits_.send_limits)),
      metrics_(metrics) {}

Store::Connection& Store::connection() {
    thread_local Connection connection;
    if (connection.owner != this) {
        connection.drop();
        connection.owner = this;
        connection.backoff_ms = 0;
        connection.next_attempt = {};
    }
    return connection;
}

namespace {

ApiError redis_error_reply(const std::string& what, const std::string& message) {
    // A missing or existing consumer group is part of the outbox's normal life.
    bool expected = message.rfind("NOGROUP", 0) == 0 || message.rfind("BUSYGROUP", 0) == 0;
    if (!expected)
        log_event(LogLevel::Error, "redis error", {{"command", what}, {"error", message}});
    bool transient = message.rfind("LOADING", 0) == 0 || message.rfind("READONLY", 0) == 0 ||
                     message.rfind("BUSY", 0) == 0 || message.rfind("MASTERDOWN", 0) == 0;
    return transient ? store_unavailable() : make_error(ErrorCode::InternalError);
}

}  // namespace

Result<ReplyHandle> Store::command(const std::vector<std::string>& args) {
    Connection& c = connection();
    Result<ReplyHandle> result;
    if (!c.ensure(endpoint_, timeout_ms_)) {
        if (metrics_) metrics_->count_redis_error();
        result.error = store_unavailable();
        return result;
    }
    // EVALSHA names its script; the connection knows the script's SHA1.
    const bool script = args.size() > 1 && args[0] == "EVALSHA";
    std::vector<std::string> sent = args;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (script) sent[1] = c.script_shas[args[1]];
        ReplyHandle reply = c.command(sent);
        if (!reply) {
            // A broken or timed-out connection may still deliver a stale reply: drop it.
            c.drop();
            break;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            std::string message = reply_string(reply.get());
            if (message.rfind("NOSCRIPT", 0) == 0 && attempt == 0 && c.load_scripts()) continue;
            if (metrics_) metrics_->count_redis_error();
            result.error = redis_error_reply(script ? args[1] : args[0], message);
            // A master demoted by a failover answers READONLY: find the new one.
            if (message.rfind("READONLY", 0) == 0 || message.rfind("MASTERDOWN", 0) == 0) c.drop();
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

Result<ReplyHandle> Store::eval(const char* script, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
    std::vector<std::string> command_args = {"EVALSHA", script, std::to_string(keys.size())};
    command_args.insert(command_args.end(), keys.begin(), keys.end());
    command_args.insert(command_args.end(), args.begin(), args.end());
    return command(command_args);
}

Result<ReplyHandle> Store::call(const Caller& caller, const char* script,
                                const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
    std::vector<std::string> all_keys = {counter_key(caller)};
    all_keys.insert(all_keys.end(), keys.begin(), keys.end());
    std::vector<std::string> all_args = {std::to_string(caller.requests_per_minute)};
    all_args.insert(all_args.end(), args.begin(), args.end());
    auto result = eval(script, all_keys, all_args);
    if (!result.ok()) return result;
    const redisReply* reply = result.value.get();
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        result.error = make_error(ErrorCode::InternalError);
    } else if (reply_integer(reply->element[0]) != 0) {
        result.error = script_error(reply);
    }
    return result;
}

Result<bool> Store::count_request(const Caller& caller) {
    auto reply = call(caller, "count", {}, {});
    Result<bool> result;
    result.error = reply.error;
    result.value = reply.ok();
    return result;
}

Result<Verification> Store::send(const Caller& caller, const NewVerification& created) {
    const Verification& v = created.verification;
    // Empty values are not stored; the readers know what an absent field means.
    std::vector<std::pair<const char*, std::string>> fields = {
        {"a", caller.account},
        {"to", v.to},
        {"ch", v.channel},
        {"fb", v.fallback},
        {"loc", v.locale == kDefaultLocale ? "" : v.locale},
        {"len", std::to_string(v.code_length)},
        {"mx", std::to_string(v.max_attempts)},
        {"sb", v.sandbox ? "1" : "0"},
        {"tn", v.template_name == kDefaultTemplateName ? "" : v.template_name},
        {"tv", v.template_variables},
        {"h", created.code_hash},
    };
    if (v.sandbox) {
        fields.emplace_back("k", v.code);
    } else {
        fields.emplace_back("ds", v.delivery_status);
        fields.emplace_back("sc", created.sealed_code);
    }
    std::vector<std::string> args = {v.sandbox ? "s" : "l",
                                     send_limits_arg_,
                                     std::to_string(limits_.resend_cooldown),
                                     std::to_string(created.ttl_seconds),
                                     std::to_string(limits_.expired_grace),
                                     record_prefix(v.ref.tag),
                                     v.ref.suffix};
    for (const auto& [name, value] : fields) {
        args.emplace_back(name);
        args.push_back(value);
    }
    auto reply =
        call(caller, "send", {number_key(v.ref.tag), kDeliveryStream, kUndeliveredIndex}, args);
    Result<Verification> result;
    if (!reply.ok()) {
        result.error = reply.error;
        return result;
    }
    if (auto not_replicated = wait_for_replicas()) {
        result.error = not_replicated;
        return result;
    }
    result.value = v;
    result.value.account = caller.account;
    result.value.status = "pending";
    result.value.created_ms = reply_integer(reply.value->element[1]);
    result.value.expires_ms = reply_integer(reply.value->element[2]);
    return result;
}

Result<std::string> Store::current_verification(const std::string& tag) {
    Result<std::string> result;
    auto reply = command({"HGET", number_key(tag), "u"});
    if (!reply.ok()) {
        result.error = reply.error;
    } else if (reply.value->type == REDIS_REPLY_STRING) {
        result.value = make_record_id(kVerificationPrefix, {tag, reply_string(reply.value.get())});
    } else {
        result.error = make_error(ErrorCode::VerificationNotFound);
    }
    return result;
}

Result<CheckOutcome> Store::check(const Caller& caller, const RecordRef& ref,
                                  const std::string& code_hash) {
    auto reply = call(caller, "check", {number_key(ref.tag), record_key(ref)},
                      {caller.account, code_hash, ref.suffix});
    Result<CheckOutcome> result;
    if (!reply.ok()) {
        result.error = reply.error;
        return result;
    }
    if (auto not_replicated = wait_for_replicas()) {
        result.error = not_replicated;
        return result;
    }
    const redisReply* r = reply.value.get();
    result.value.status = reply_string(r->element[1]);
    result.value.attempts_remaining = static_cast<int>(reply_integer(r->element[2]));
    result.value.to = reply_string(r->element[3]);
    return result;
}

Result<Verification> Store::read_one(const Caller& caller, const char* script, const RecordRef& ref,
                                     std::vector<std::string> args) {
    args.insert(args.begin(), {caller.account, ref.suffix});
    auto reply = call(caller, script, {number_key(ref.tag), record_key(ref)}, args);
    Result<Verification> result;
    if (!reply.ok()) {
        result.error = reply.error;
        return result;
    }
    const redisReply* r = reply.value.get();
    result.value = parse_verification(ref, r->element[2], reply_integer(r->element[1]));
    return result;
}

Result<Verification> Store::cancel(const Caller& caller, const RecordRef& ref) {
    auto canceled = read_one(caller, "cancel", ref, {});
    if (canceled.ok()) canceled.error = wait_for_replicas();
    return canceled;
}

std::optional<ApiError> Store::wait_for_replicas() {
    if (endpoint_.wait_replicas == 0) return std::nullopt;
    auto waited = command({"WAIT", std::to_string(endpoint_.wait_replicas),
                           std::to_string(endpoint_.wait_timeout_ms)});
    if (waited.ok() && waited.value->type == REDIS_REPLY_INTEGER &&
        waited.value->integer >= endpoint_.wait_replicas)
        return std::nullopt;
    // A master whose replicas stopped following it may have been replaced by one of
    // them: the next call asks the sentinels again.
    connection().drop();
    return with_retry_after(
        with_status(make_error(ErrorCode::InternalError,
                               "The change is not yet on enough replicas to survive a failover. "
                               "Retry shortly."),
                    503),
        1);
}

Result<Verification> Store::get(const Caller& caller, const RecordRef& ref, ErrorCode not_found) {
    return read_one(caller, "read", ref, {std::to_string(static_cast<int>(not_found))});
}

Result<std::vector<Verification>> Store::list_messages(const Caller& caller, const std::string& tag,
                                                       int limit) {
    auto reply = call(caller, "list", {number_key(tag)},
                      {caller.account, std::to_string(limit), record_prefix(tag)});
    Result<std::vector<Verification>> result;
    if (!reply.ok()) {
        result.error = reply.error;
        return result;
    }
    const redisReply* r = reply.value.get();
    int64_t now_ms = reply_integer(r->element[1]);
    for (size_t i = 2; i + 1 < r->elements; i += 2) {
        RecordRef ref{tag, reply_string(r->element[i])};
        result.value.push_back(parse_verification(ref, r->element[i + 1], now_ms));
    }
    return result;
}

bool Store::ready() {
    auto reply = command({"PING"});
    return reply.ok() && reply.value->type == REDIS_REPLY_STATUS &&
           connection().script_shas.size() == lua_scripts().size();
}

}  // namespace verifyd
