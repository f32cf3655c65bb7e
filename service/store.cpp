// The store's operations: each builds its script's KEYS and ARGV, hands them to a lane
// and reads the answer; script_error is the one translation of a script's refusal into
// an ApiError. The blocking calls of the background threads: store_blocking.cpp; the
// guard's, the inbox's, the Twilio services' and the receipts' operations: store_*.cpp.
#include "verifyd/store.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "verifyd/delivery.hpp"
#include "verifyd/log.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/redis_cluster.hpp"
#include "verifyd/redis_lane.hpp"

namespace verifyd {

namespace {

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
        case ErrorCode::DestinationPaused:
        case ErrorCode::ClientRateLimit: {
            // {code, retry_after, detail} (send.lua's recorded refusal), or lua/client's
            // {4045, retry_after, i}, whose field the store names.
            const bool named = reply->elements > 2 && reply->element[2]->type == REDIS_REPLY_STRING;
            const std::string detail = named ? reply_string(reply->element[2]) : "";
            return *known == ErrorCode::DestinationPaused ? paused_refusal(detail)
                                                          : client_refusal(detail, retry_after);
        }
        case ErrorCode::IdempotencyConflict:
            if (retry_after > 0)
                return with_retry_after(
                    make_error(*known,
                               "The first request with this Idempotency-Key is still running. "
                               "Retry after 1 second."),
                    retry_after);
            return make_error(*known);
        default:
            return make_error(*known);
    }
}

// The record key and, when the change's call takes the claim (`claim_in_call`: on one
// Redis), the claim key (appended to `keys`), and the ARGV of lib/idempotency.lua;
// without a key the script gets no record key and placeholders.
void add_idempotency(const Idempotency* idempotency, const std::string& tag, bool claim_in_call,
                     std::vector<std::string>& keys, std::vector<std::string>& args) {
    if (!idempotency) {
        args.insert(args.end(), {"", "0", "0"});
        return;
    }
    keys.push_back(idempotency_record_key(tag, idempotency->name));
    if (claim_in_call) keys.push_back(claim_key(idempotency->name));
    args.insert(args.end(), {idempotency->fingerprint, idempotency->follow ? "1" : "0",
                             std::to_string(idempotency->ttl_seconds)});
}

}  // namespace

int redis_lanes_for(int http_threads) {
    return std::max(1, http_threads / 4);
}

Store::Store(RedisEndpoint endpoint, int timeout_ms, StoreLimits limits, int lanes,
             Metrics* metrics)
    : endpoint_(std::move(endpoint)),
      timeout_ms_(timeout_ms),
      limits_(std::move(limits)),
      send_limits_arg_(format_send_limits(limits_.send_limits)),
      metrics_(metrics),
      router_(endpoint_, timeout_ms_, lanes, metrics_) {
    // The key layout is the store's: set before any other thread makes a key.
    use_partitions(endpoint_.partitions);
}

Store::~Store() {
    stop();
}

void Store::stop() {
    router_.stop();
}

void Store::on_every_partition(
    const std::function<std::vector<std::string>(const PartitionQueues&)>& command,
    Then<std::vector<ReplyHandle>> then) {
    // On a cluster the partitions' replies come from several lanes' threads.
    struct Gathered {
        std::mutex mutex;
        std::vector<ReplyHandle> replies;
        size_t left = 0;
        std::optional<ApiError> error;
        Then<std::vector<ReplyHandle>> then;
    };
    const size_t count = static_cast<size_t>(partition_count());
    auto gathered = std::make_shared<Gathered>();
    gathered->replies.resize(count);
    gathered->left = count;
    gathered->then = std::move(then);
    for (size_t p = 0; p < count; ++p)
        router_.submit({command(partition_queues(static_cast<int>(p))), false},
                       [gathered, p](Result<ReplyHandle> reply) {
                           {
                               std::lock_guard<std::mutex> lock(gathered->mutex);
                               if (reply.error && !gathered->error) gathered->error = reply.error;
                               gathered->replies[p] = std::move(reply.value);
                               if (--gathered->left > 0) return;
                           }
                           Result<std::vector<ReplyHandle>> result{gathered->error, {}};
                           if (!result.error) result.value = std::move(gathered->replies);
                           gathered->then(std::move(result));
                       });
}

void Store::run_script(const char* script, std::vector<std::string> keys,
                       const std::vector<std::string>& args, bool must_replicate,
                       Then<ScriptAnswer> then) {
    LaneCommand command;
    command.must_replicate = must_replicate;
    command.args.reserve(3 + keys.size() + args.size());
    command.args = {"FCALL", script, std::to_string(keys.size())};
    for (auto& key : keys) command.args.push_back(std::move(key));
    command.args.insert(command.args.end(), args.begin(), args.end());
    router_.submit(std::move(command), [then = std::move(then)](Result<ReplyHandle> reply) {
        Result<ScriptAnswer> result{reply.error, {}};
        if (reply.ok()) {
            const redisReply* answer = reply.value.get();
            // {'replayed', reply} and {'refused', json}: lua/lib/idempotency.lua
            const std::string wrapper = answer->type == REDIS_REPLY_ARRAY &&
                                                answer->elements == 2 &&
                                                answer->element[0]->type == REDIS_REPLY_STRING
                                            ? reply_string(answer->element[0])
                                            : std::string();
            if (wrapper == "replayed" || wrapper == "refused") {
                result.replayed = true;
                answer = answer->element[1];
            }
            if (wrapper == "refused") {
                auto refusal = decode_refusal(reply_string(answer));
                result.error = refusal ? *refusal : make_error(ErrorCode::InternalError);
            } else if (answer->type != REDIS_REPLY_ARRAY || answer->elements == 0 ||
                       answer->element[0]->type != REDIS_REPLY_INTEGER)
                result.error = make_error(ErrorCode::InternalError);
            else if (reply_integer(answer->element[0]) != 0)
                result.error = script_error(answer);
            result.value = {std::move(reply.value), answer};
        }
        then(std::move(result));
    });
}

void Store::take_allowance(const Caller& caller,
                           std::function<void(std::optional<ApiError>)> then) {
    const auto asked_at = RequestAllowances::Clock::now();
    run_script(
        "keys_allowance", {request_counter_key(caller.key_id)},
        {std::to_string(caller.requests_per_minute), std::to_string(RequestAllowances::kBatch)},
        false,
        [this, key_id = caller.key_id, asked_at,
         then = std::move(then)](Result<ScriptAnswer> granted) {
            if (!granted.ok()) return then(granted.error);
            const redisReply* r = granted.value.answer;
            // The minute's end counted from before Redis read its clock: no later
            // than Redis's.
            const auto ends = asked_at + std::chrono::milliseconds(reply_integer(r->element[3]));
            allowances_.keep(key_id, reply_integer(r->element[1]) - 1, reply_integer(r->element[2]),
                             ends);
            then(std::nullopt);
        });
}

void Store::run_limited(const char* script, std::string counter_key, std::string limit,
                        std::vector<std::string> keys, const std::vector<std::string>& args,
                        bool must_replicate, Then<ScriptAnswer> then) {
    if (counter_key.empty()) {
        // Counted apart: nothing is left to run for a request that was only counted.
        if (keys.empty()) return then({std::nullopt, {}});
        counter_key = keys.front();
    }
    keys.insert(keys.begin(), std::move(counter_key));
    std::vector<std::string> limited;
    limited.reserve(args.size() + 1);
    limited.push_back(std::move(limit));
    limited.insert(limited.end(), args.begin(), args.end());
    run_script(script, std::move(keys), limited, must_replicate, std::move(then));
}

bool Store::on_one_server() const {
    return endpoint_.cluster_seeds.empty();
}

void Store::call(const Caller& caller, const char* script, std::vector<std::string> keys,
                 const std::vector<std::string>& args, bool must_replicate,
                 Then<ScriptAnswer> then) {
    if (on_one_server())
        return run_limited(script, request_counter_key(caller.key_id),
                           std::to_string(caller.requests_per_minute), std::move(keys), args,
                           must_replicate, std::move(then));
    // On a cluster the request counter's slot is its own: the request is counted apart.
    if (allowances_.take(caller.key_id))
        return run_limited(script, {}, {}, std::move(keys), args, must_replicate, std::move(then));
    take_allowance(caller, [this, script, keys = std::move(keys), args, must_replicate,
                            then = std::move(then)](std::optional<ApiError> refusal) mutable {
        if (refusal) return then({std::move(refusal), {}});
        run_limited(script, {}, {}, std::move(keys), args, must_replicate, std::move(then));
    });
}

void Store::count_request(const Caller& caller, Then<bool> then) {
    call(caller, "count", {}, {}, false, [then = std::move(then)](Result<ScriptAnswer> reply) {
        then({reply.error, reply.ok()});
    });
}

void Store::claim(const Idempotency& key, int lease_ms, const std::string& answer,
                  Then<IdempotencyClaim> then) {
    // On one Redis the claim's slot and the change's are on one server: one call does both.
    if (answer.empty() && on_one_server()) return then({std::nullopt, {}});
    run_script("idempotency_claim", {claim_key(key.name)},
               {key.fingerprint, std::to_string(lease_ms), std::to_string(key.ttl_seconds), answer},
               false, [then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<IdempotencyClaim> result{reply.error, {}};
                   if (reply.ok()) {
                       const redisReply* r = reply.value.answer;
                       const std::string next = reply_string(r->element[1]);
                       if (next == "follow") {
                           result.value.next = IdempotencyClaim::Next::Follow;
                       } else if (next == "answer") {
                           result.value.next = IdempotencyClaim::Next::Replay;
                           result.value.answer = reply_string(r->element[2]);
                       }
                   }
                   then(std::move(result));
               });
}

void Store::send(const Caller& caller, const NewVerification& created,
                 const Idempotency* idempotency, Then<Verification> then) {
    const Verification& v = created.verification;
    const PartitionQueues& queues = queues_of(v.ref.tag);
    std::vector<std::string> keys = {number_key(v.ref.tag), queues.delivery, queues.undelivered,
                                     queues.events, queues.due};
    std::vector<std::string> args = {mode_letter(caller.sandbox),
                                     send_limits_arg_,
                                     std::to_string(limits_.resend_cooldown),
                                     std::to_string(created.ttl_seconds),
                                     std::to_string(limits_.expired_grace),
                                     record_key_prefix(v.ref.tag),
                                     v.ref.suffix};
    add_idempotency(idempotency, v.ref.tag, on_one_server(), keys, args);
    args.emplace_back(events_flag());
    args.push_back(created.refusal);
    // An empty value is a field the record leaves out: not sent, since each argument
    // costs the script a string of its own.
    for (const auto& [name, value] : encode_new_verification(created, caller.account)) {
        if (value.empty()) continue;
        args.emplace_back(name);
        args.push_back(value);
    }
    Verification stored = v;
    stored.account = caller.account;
    stored.status = "pending";
    call(caller, "send", std::move(keys), args, true,
         [stored = std::move(stored), then = std::move(then)](Result<ScriptAnswer> reply) {
             Result<Verification> result{reply.error, {}, reply.replayed};
             if (reply.ok()) {
                 const redisReply* r = reply.value.answer;
                 result.value = stored;
                 result.value.created_ms = reply_integer(r->element[1]);
                 result.value.expires_ms = reply_integer(r->element[2]);
                 // A replay answers with the verification the first request made.
                 result.value.ref.suffix = reply_string(r->element[3]);
                 if (r->elements > 5) {
                     result.value.twilio_sid = reply_string(r->element[4]);
                     result.value.send_attempts = reply_string(r->element[5]);
                 }
             }
             then(std::move(result));
         });
}

void Store::current_verification(const std::string& tag, Then<std::string> then) {
    LaneCommand command{{"HGET", number_key(tag), "u"}, false};
    router_.submit(std::move(command), [tag, then = std::move(then)](Result<ReplyHandle> reply) {
        Result<std::string> result{reply.error, {}};
        if (reply.ok() && reply.value->type == REDIS_REPLY_STRING)
            result.value =
                make_record_id(kVerificationPrefix, {tag, reply_string(reply.value.get())});
        else if (reply.ok())
            result.error = make_error(ErrorCode::VerificationNotFound);
        then(std::move(result));
    });
}

void Store::check(const Caller& caller, const RecordRef& ref, const std::string& code_hashes,
                  const Idempotency* idempotency, const TwilioScope& scope,
                  Then<CheckOutcome> then) {
    std::vector<std::string> keys = {number_key(ref.tag), record_key(ref),
                                     queues_of(ref.tag).events};
    std::vector<std::string> args = {caller.account, code_hashes, ref.suffix,
                                     mode_letter(caller.sandbox), events_flag()};
    add_idempotency(idempotency, ref.tag, on_one_server(), keys, args);
    args.insert(args.end(), {scope.service_sid, scope.approve ? "1" : "0", scope.twilio_sid});
    call(caller, "check", std::move(keys), args, true,
         [ref, then = std::move(then)](Result<ScriptAnswer> reply) {
             Result<CheckOutcome> result{reply.error, {}, reply.replayed};
             if (reply.ok()) {
                 const redisReply* r = reply.value.answer;
                 result.value.ref = ref;
                 result.value.status = reply_string(r->element[1]);
                 result.value.attempts_remaining = static_cast<int>(reply_integer(r->element[2]));
                 result.value.to = reply_string(r->element[3]);
                 // Answers kept from before countries were recorded have none.
                 if (r->elements > 4) result.value.country = reply_string(r->element[4]);
                 if (r->elements > 5)
                     result.value.guarded_at_ms = std::atoll(reply_string(r->element[5]).c_str());
                 if (r->elements > 8) {
                     result.value.channel = reply_string(r->element[6]);
                     result.value.twilio_sid = reply_string(r->element[7]);
                     result.value.send_attempts = reply_string(r->element[8]);
                 }
             }
             then(std::move(result));
         });
}

void Store::read_one(const Caller& caller, const char* script, const RecordRef& ref,
                     std::vector<std::string> keys, std::vector<std::string> args,
                     bool must_replicate, Then<Verification> then) {
    keys.insert(keys.begin(), {number_key(ref.tag), record_key(ref)});
    args.insert(args.begin(), {caller.account, ref.suffix});
    call(caller, script, std::move(keys), args, must_replicate,
         [ref, then = std::move(then)](Result<ScriptAnswer> reply) {
             Result<Verification> result{reply.error, {}, reply.replayed};
             if (reply.ok()) {
                 const redisReply* r = reply.value.answer;
                 result.value =
                     decode_verification(ref, r->element[2], reply_integer(r->element[1]));
             }
             then(std::move(result));
         });
}

void Store::cancel(const Caller& caller, const RecordRef& ref, const Idempotency* idempotency,
                   const TwilioScope& scope, Then<Verification> then) {
    std::vector<std::string> keys = {queues_of(ref.tag).events},
                             args = {mode_letter(caller.sandbox), events_flag()};
    add_idempotency(idempotency, ref.tag, on_one_server(), keys, args);
    args.insert(args.end(), {scope.service_sid, scope.twilio_sid});
    read_one(caller, "cancel", ref, std::move(keys), std::move(args), true, std::move(then));
}

void Store::get(const Caller& caller, const RecordRef& ref, ErrorCode not_found,
                Then<Verification> then) {
    read_one(caller, "read", ref, {},
             {std::to_string(static_cast<int>(not_found)), mode_letter(caller.sandbox)}, false,
             std::move(then));
}

void Store::list_messages(const Caller& caller, const std::string& tag, int limit,
                          Then<std::vector<Verification>> then) {
    call(caller, "list", {number_key(tag)},
         {caller.account, std::to_string(limit), record_key_prefix(tag),
          mode_letter(caller.sandbox)},
         false, [tag, then = std::move(then)](Result<ScriptAnswer> reply) {
             Result<std::vector<Verification>> result{reply.error, {}};
             if (reply.ok()) {
                 const redisReply* r = reply.value.answer;
                 int64_t now_ms = reply_integer(r->element[1]);
                 for (size_t i = 2; i + 1 < r->elements; i += 2) {
                     RecordRef ref{tag, reply_string(r->element[i])};
                     result.value.push_back(decode_verification(ref, r->element[i + 1], now_ms));
                 }
             }
             then(std::move(result));
         });
}

void Store::ping(Then<bool> then) {
    router_.ping([then = std::move(then)](bool answered) {
        if (!answered) return then({store_unavailable(), false});
        then({std::nullopt, true});
    });
}

}  // namespace verifyd
