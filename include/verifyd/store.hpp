// The verification store: Redis, reached through hiredis. Every state change is one Lua
// script call (lua/); this file only names the operations, passes their arguments and
// reads their answers. The API's calls go through pipelined lanes (redis_lane.hpp) and
// answer a callback; the outbox's calls block on a connection of the calling thread.
// Not for: validation or hashing, which the caller has done.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/redis_connection.hpp"

namespace verifyd {

class Metrics;
class RedisLane;

// Ids are a prefix, the 22-character tag of the number and 22 random characters.
constexpr const char* kVerificationPrefix = "vrf_";
constexpr const char* kMessagePrefix = "msg_";

// The outbox of live sends (see outbox.hpp).
constexpr const char* kDeliveryStream = "q:delivery";
constexpr const char* kUndeliveredIndex = "q:undelivered";
constexpr const char* kDelayedJobs = "q:delayed";

struct RecordRef {
    std::string tag;
    std::string suffix;
};

// The hash of a number (of one account) with its current verification, and the hash a
// verification moves to once superseded; lua/lib/common.lua says what they hold.
std::string number_key(const std::string& tag);
std::string record_key(const RecordRef& ref);

// Splits "vrf_<tag><suffix>" (or "msg_…" with that prefix); nothing when malformed.
std::optional<RecordRef> parse_record_id(const std::string& id, const char* prefix);
std::string make_record_id(const char* prefix, const RecordRef& ref);

// Who is asking, for the per-key request limit that every script applies first.
struct Caller {
    std::string account;
    std::string key_id;
    int requests_per_minute = 0;
};

struct Verification {
    RecordRef ref;
    std::string account;
    std::string to;
    std::string channel;
    std::string fallback;
    std::string locale;
    std::string status;  // pending, approved, locked, canceled, expired
    int code_length = 0;
    int max_attempts = 0;
    int attempts = 0;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
    bool sandbox = false;
    std::string code;  // sandbox verifications only: their code is test data
    std::string template_name;
    std::string template_variables;  // the request's own, a JSON object; empty for none
    std::string delivery_status;
    std::string delivery_channel;  // the channel in use: sms after a WhatsApp fallback
    std::string fallback_reason;
    std::string delivery_error;
    std::string provider_message_id;
};

// What a send stores: the verification (its status and times are the script's to set),
// how long its code lives, and the code's keyed hash.
struct NewVerification {
    Verification verification;
    int ttl_seconds = 600;
    std::string code_hash;    // 16 raw bytes
    std::string sealed_code;  // live sends only: the code sealed for the outbox
};

struct CheckOutcome {
    std::string to;
    std::string status;  // approved, pending or locked
    int attempts_remaining = 0;
};

// The continuation of an API call: called exactly once, on a lane's thread.
template <typename T>
using Then = std::function<void(Result<T>)>;

struct StoreLimits {
    std::vector<SendWindow> send_limits;
    int resend_cooldown = 0;
    int expired_grace = 0;
};

// One lane serves several HTTP threads: it does little per command, and the fewer the
// lanes, the more commands Redis reads per wake-up.
int redis_lanes_for(int http_threads);

class Store {
  public:
    // `lanes`: pipelined connections for the API's calls, each with a thread of its own.
    Store(RedisEndpoint endpoint, int timeout_ms, StoreLimits limits, int lanes, Metrics* metrics);
    ~Store();

    // Counts a request that no other call counted (one refused as invalid).
    void count_request(const Caller& caller, Then<bool> then);
    // Rate limits, supersedes the number's pending verification, creates this one.
    void send(const Caller& caller, const NewVerification& verification, Then<Verification> then);
    // The id of the caller's current verification for a number tag (no limit counted).
    void current_verification(const std::string& tag, Then<std::string> then);
    void check(const Caller& caller, const RecordRef& ref, const std::string& code_hash,
               Then<CheckOutcome> then);
    void cancel(const Caller& caller, const RecordRef& ref, Then<Verification> then);
    // `not_found` is the code for an unknown id: 4040, or 4044 when read as a message.
    void get(const Caller& caller, const RecordRef& ref, ErrorCode not_found,
             Then<Verification> then);
    // Newest first, at most `limit`.
    void list_messages(const Caller& caller, const std::string& tag, int limit,
                       Then<std::vector<Verification>> then);
    // Redis answers on a lane, with the scripts loaded.
    void ping(Then<bool> then);
    // Answers the API's calls in flight with 503 and stops the lanes.
    void stop();

    // For the outbox and /metrics: one command, or one script of lua/ by name (no per-key
    // limit), blocking on this thread's connection. An error reply is an error; the reply
    // is kept.
    Result<ReplyHandle> command(const std::vector<std::string>& args);
    Result<ReplyHandle> eval(const char* script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args);

  private:
    struct Connection;
    Connection& connection();
    RedisLane& next_lane();
    // EVALSHA of a script of lua/ on a lane, with the caller's request counter as KEYS[1]
    // and its limit as ARGV[1]; an error for any reply other than {0, …}.
    void call(const Caller& caller, const char* script, const std::vector<std::string>& keys,
              const std::vector<std::string>& args, bool must_replicate, Then<ReplyHandle> then);
    void read_one(const Caller& caller, const char* script, const RecordRef& ref,
                  std::vector<std::string> args, bool must_replicate, Then<Verification> then);

    RedisEndpoint endpoint_;
    int timeout_ms_;
    StoreLimits limits_;
    std::string send_limits_arg_;
    Metrics* metrics_;
    std::vector<std::unique_ptr<RedisLane>> lanes_;
    std::atomic<unsigned> next_lane_{0};
};

}  // namespace verifyd
