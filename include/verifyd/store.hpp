// The verification store: Redis, reached through hiredis. Every state change is one Lua
// script call (lua/); this file only names the operations, passes their arguments and
// reads their answers. The API's calls go through pipelined lanes (redis_lane.hpp) and
// answer a callback; the outbox's calls block on a connection of the calling thread.
// Not for: validation or hashing, which the caller has done.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/call_batches.hpp"
#include "verifyd/caller.hpp"
#include "verifyd/config.hpp"
#include "verifyd/delivery.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/fraud_guard.hpp"
#include "verifyd/idempotency.hpp"
#include "verifyd/redis_connection.hpp"
#include "verifyd/redis_keys.hpp"
#include "verifyd/redis_router.hpp"
#include "verifyd/request_allowances.hpp"
#include "verifyd/twilio.hpp"
#include "verifyd/verification_record.hpp"

namespace verifyd {

class Metrics;

struct CheckOutcome {
    RecordRef ref;  // the verification checked
    std::string to;
    std::string status;  // approved, pending or locked
    int attempts_remaining = 0;
    std::string country;        // the number's ISO region, empty when unknown
    int64_t guarded_at_ms = 0;  // when the fraud guard counted its send; 0 = it did not
    std::string channel;        // the channel the send asked for
    std::string twilio_sid;     // the Twilio face's VE sid and send attempts (Verification)
    std::string send_attempts;
};

// What the Twilio face (§11) asks of a check or a cancel: the verification must have
// been sent in the service `service_sid` and have the VE sid `twilio_sid` (each without
// its two letters; empty: any), and, for a cancel, be pending. `approve` approves
// without a code (Status=approved).
struct TwilioScope {
    std::string service_sid;
    std::string twilio_sid;
    bool approve = false;
};

// The fraud guard's verdict on a send (lua/guard/admit.lua).
struct GuardVerdict {
    std::string verdict;         // safe, off, counted, monitored or refused
    std::string target, reason;  // the pause that refuses or would refuse the send
    int64_t counted_at_ms = 0;   // when it counted the send (0: it did not)
    std::vector<Pause> changes;  // pauses that began or ended in the call
};

// The client limits' verdict (lua/client/limit.lua): over one, the field and the wait.
struct ClientVerdict {
    bool over = false;
    int retry_after = 0;
    std::string field;
};

// A pause in force as the pause index names it (lua/lib/guard.lua index_member).
struct PauseEntry {
    std::string member;
    std::string account;
    bool sandbox = false;
    std::string country, target;
};

// How long a receipt for a provider id not known yet is kept for its message.
constexpr int kParkedReceiptMs = 10 * 60 * 1000;

// What a receipt did (lua/delivery/receipt.lua).
struct ReceiptOutcome {
    std::string outcome;  // delivered, failed, fallback, ignored, unknown or parked
    std::string detail;   // ignored: why; fallback: the reason
    std::string channel;  // delivered or failed: the channel
    std::string country;
    int64_t latency_ms = 0;  // delivered: the time since the send
};

// The continuation of an API call: called exactly once, on a lane's thread.
template <typename T>
using Then = std::function<void(Result<T>)>;

struct StoreLimits {
    std::vector<SendWindow> send_limits;
    int resend_cooldown = 0;
    int expired_grace = 0;
    bool record_events = false;  // VERIFYD_EVENTS_URL is set: state changes emit events
    std::string guard_settings;  // fraud_guard.hpp pack_guard_settings
};

// One lane serves several HTTP threads: it does little per command, and the fewer the
// lanes, the more commands Redis reads per wake-up.
int redis_lanes_for(int http_threads);

class Store {
  public:
    // `lanes`: pipelined connections for the API's calls, each with a thread of its own; on
    // a cluster, lanes per primary, lane i of every primary sharing one thread.
    Store(RedisEndpoint endpoint, int timeout_ms, StoreLimits limits, int lanes, Metrics* metrics);
    ~Store();

    // Counts a request that no other call counted (one refused as invalid).
    void count_request(const Caller& caller, Then<bool> then);
    // Claims an Idempotency-Key, or (with `answer`, JSON) records the answer of a
    // request refused before any state change. No limit counted. On one Redis a claim
    // without `answer` answers Run at once: the state change's own call takes the claim.
    void claim(const Idempotency& key, int lease_ms, const std::string& answer,
               Then<IdempotencyClaim> then);
    // The state changes; `idempotency` is null without an Idempotency-Key. A replayed
    // answer comes back with Result::replayed.
    // Rate limits, supersedes the number's pending verification, creates this one.
    void send(const Caller& caller, const NewVerification& verification,
              const Idempotency* idempotency, Then<Verification> then);
    // The id of the caller's current verification for a number tag (no limit counted).
    void current_verification(const std::string& tag, Then<std::string> then);
    // `code_hashes`: the presented code's hash under each hash key in use.
    void check(const Caller& caller, const RecordRef& ref, const std::string& code_hashes,
               const Idempotency* idempotency, const TwilioScope& scope, Then<CheckOutcome> then);
    void cancel(const Caller& caller, const RecordRef& ref, const Idempotency* idempotency,
                const TwilioScope& scope, Then<Verification> then);
    // `not_found` is the code for an unknown id: 4040, or 4044 when read as a message.
    void get(const Caller& caller, const RecordRef& ref, ErrorCode not_found,
             Then<Verification> then);
    // Newest first, at most `limit`.
    void list_messages(const Caller& caller, const std::string& tag, int limit,
                       Then<std::vector<Verification>> then);
    // Applies a receipt to the message of `job` (redis_keys.hpp job_ref).
    void apply_receipt(const std::string& job, const Receipt& receipt, Then<ReceiptOutcome> then);
    // The same, blocking on this thread's connection (for the outbox); nothing when Redis
    // did not answer.
    std::optional<ReceiptOutcome> apply_receipt_now(const std::string& job, const Receipt& receipt);
    // Applies a receipt that names the provider's message id: the message it belongs to
    // is looked up first (lua/delivery/map.lua wrote it), and the receipt's channel is
    // the one the provider accepted that message on. When none is known yet the receipt
    // is parked (`parked`) for kParkedReceiptMs, and applied if its message shows up.
    void apply_provider_receipt(const std::string& provider_message_id, Receipt receipt,
                                Then<ReceiptOutcome> then);
    // The fraud guard and the client limits (fraud_guard.hpp; no limit counted). admit
    // judges a send and counts it when admitted (the sends to one guard slot that arrive
    // while a decision there is in flight are decided together by the next call, in
    // their order, as lua/guard/admit.lua says); limit_clients judges the send's client
    // fields and, with `count`, counts them when under their limits; release takes a
    // send back from what counted it (the guard when `counted_at_ms` is not 0; nothing
    // is answered: a failure leaves a count that ends with its window); approve counts
    // the approval of a send the guard counted at `counted_at_ms`.
    void admit(const GuardedSend& send, Then<GuardVerdict> then);
    void limit_clients(const GuardedSend& send, bool count, Then<ClientVerdict> then);
    void release(const GuardedSend& send, int64_t counted_at_ms, bool clients_counted);
    void approve(const GuardedSend& send, int64_t counted_at_ms, Then<bool> then);
    // The safe list of `slot`: put, get or delete; whether the number is on it after.
    void safe_list(const GuardSlot& slot, const std::string& number_tag, const char* operation,
                   Then<bool> then);
    // The pauses in force of every account, and those of `entries` read from their slots
    // (in that order; a pause that ended in between is left out).
    void pause_index(Then<std::vector<PauseEntry>> then);
    void read_pauses(const HashKey& number_key, const std::vector<PauseEntry>& entries,
                     Then<std::vector<Pause>> then);
    // Lifts the pause of `entry` and forgets its history and strikes; 4000 without one.
    void lift(const HashKey& number_key, const PauseEntry& entry, Then<Pause> then);
    // For the timers, blocking: the pauses whose end has come, and one of them ended
    // (nothing when it goes on or was ended already); and how many are in force.
    std::vector<PauseEntry> due_pauses(int64_t now_ms, int limit);
    std::optional<Pause> resume(const HashKey& number_key, const PauseEntry& entry);
    std::optional<long long> active_pauses();
    // The Twilio face's services of the account whose slot tag is `account_tag`
    // (lua/services/; no limit counted): put_service creates one (`creating`) or sets
    // some of its parameters; a service there is not is 4040.
    void put_service(const std::string& account_tag, const std::string& sid, bool creating,
                     const TwilioForm& parameters, Then<TwilioService> then);
    void read_service(const std::string& account_tag, const std::string& sid,
                      Then<TwilioService> then);
    void delete_service(const std::string& account_tag, const std::string& sid, Then<bool> then);
    // In the order they were created, skipping `skip`, at most `most`.
    void list_services(const std::string& account_tag, long long skip, int most,
                       Then<TwilioServicePage> then);
    // The number tag of a Twilio face's verification by its VE sid (4040 when none is
    // known), which a send puts there for `lifetime_ms` (its code's time to live and
    // grace: the index entry ends with the verification).
    void put_twilio_verification(const std::string& account_tag, const std::string& twilio_sid,
                                 const std::string& number_tag, int64_t lifetime_ms,
                                 Then<bool> then);
    void find_twilio_verification(const std::string& account_tag, const std::string& twilio_sid,
                                  Then<std::string> then);
    // The sandbox inbox of the account whose slot tag is `account_tag` (lua/inbox/; no
    // limit counted): put_inbox adds a sandbox message; read_inbox answers the newest
    // (at most `limit`, only those after `after` unless it is empty) that `caller` may
    // see, newest first, leaving out the ones forgotten since.
    void put_inbox(const std::string& account_tag, const RecordRef& message, int64_t created_ms,
                   Then<bool> then);
    void read_inbox(const Caller& caller, const std::string& account_tag, const RecordRef& after,
                    int limit, Then<std::vector<Verification>> then);
    // Whether events are recorded (ARGV of the scripts that change state).
    const char* events_flag() const { return limits_.record_events ? "1" : "0"; }
    // Redis answers on a lane, with the scripts loaded.
    void ping(Then<bool> then);
    // Answers the API's calls in flight with 503 and stops the lanes.
    void stop();

    // For the outbox and /metrics: one command, or one script of lua/ by name (no per-key
    // limit), blocking on this thread's connection. An error reply is an error; the reply
    // is kept.
    Result<ReplyHandle> command(const std::vector<std::string>& args);
    Result<ReplyHandle> fcall(const char* script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args);
    // Several commands in one round trip (the partitions' queues), answered in order; an
    // error reply is an error, as for command.
    std::vector<Result<ReplyHandle>> commands(const std::vector<std::vector<std::string>>& list);

  private:
    // One Redis (or a Sentinel's primary) rather than a cluster: every key on one server.
    bool on_one_server() const;
    struct Connection;
    Connection& connection();
    // A script's reply, and within it the answer (the recorded one when replayed).
    struct ScriptAnswer {
        ReplyHandle reply;
        const redisReply* answer = nullptr;
    };
    // FCALL of a script of lua/ on a lane; an error for any answer other than {0, …}.
    void run_script(const char* script, std::vector<std::string> keys,
                    const std::vector<std::string>& args, bool must_replicate,
                    Then<ScriptAnswer> then);
    // run_script with the caller's request counter as KEYS[1] and its limit as ARGV[1];
    // on a cluster, where the counter's slot is its own, the request is taken from this
    // replica's allowance first (take_allowance when none is left).
    void call(const Caller& caller, const char* script, std::vector<std::string> keys,
              const std::vector<std::string>& args, bool must_replicate, Then<ScriptAnswer> then);
    // run_script with KEYS[1] and ARGV[1] of lib/key_limit.lua in front: `counter_key` and
    // `limit`, or when `counter_key` is empty (counted apart) a key of the script's own
    // slot and an empty limit.
    void run_limited(const char* script, std::string counter_key, std::string limit,
                     std::vector<std::string> keys, const std::vector<std::string>& args,
                     bool must_replicate, Then<ScriptAnswer> then);
    // On a cluster: a batch of the caller's requests taken from its counter
    // (lua/keys/allowance.lua), one of them for this request and the rest kept in the
    // allowance; `then` gets the refusal (4029), or nothing when the request may go on.
    void take_allowance(const Caller& caller,
                        std::function<void(std::optional<ApiError> refusal)> then);
    // One command per partition (made by `command` from its queues) on one lane; the
    // replies in partition order, or the first error.
    void on_every_partition(
        const std::function<std::vector<std::string>(const PartitionQueues&)>& command,
        Then<std::vector<ReplyHandle>> then);
    void read_one(const Caller& caller, const char* script, const RecordRef& ref,
                  std::vector<std::string> keys, std::vector<std::string> args, bool must_replicate,
                  Then<Verification> then);

    // A send waiting for the guard's decision, and a sandbox message for its account's
    // inbox: each shares a call with the others of its slot (call_batches.hpp).
    struct PendingAdmit {
        GuardedSend send;
        Then<GuardVerdict> then;
    };
    struct PendingInboxPut {
        std::string account_tag;
        std::string ref;
        int64_t created_ms;
        Then<bool> then;
    };
    // One call of lua/guard/admit.lua (of lua/inbox/put.lua) for `batch`, of one slot;
    // once it answers, the slot's next batch goes, if any.
    void run_admits(std::vector<PendingAdmit> batch);
    void run_inbox_puts(std::vector<PendingInboxPut> batch);

    RedisEndpoint endpoint_;
    int timeout_ms_;
    StoreLimits limits_;
    std::string send_limits_arg_;
    Metrics* metrics_;
    RedisRouter router_;
    RequestAllowances allowances_;  // on a cluster only
    // At most 64 a call: enough to share its cost, few enough that no call holds Redis long.
    CallBatches<PendingAdmit> admit_batches_{64};
    CallBatches<PendingInboxPut> inbox_batches_{64};
};

}  // namespace verifyd
