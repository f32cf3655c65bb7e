// The outbox's Redis work, as named operations like the API's (store.hpp): read the next
// jobs of a consumer (its own left from before a restart, then new ones, then those a
// silent consumer held too long), begin a job, finish it, promote the retries whose time
// has come, remember a provider's message id and apply its early receipts, and count what
// is waiting. Every state change is a script of lua/outbox/ or lua/delivery/ (map.lua,
// and receipt.lua through the store); this module alone sends the stream commands and
// reads their replies. Calls block on the calling thread's own connection (delivery
// threads wait for providers anyway).
// Not for: delivering (outbox.hpp) or creating jobs (the send script does, with its
// verification).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/redis_keys.hpp"
#include "verifyd/store.hpp"

namespace verifyd {

// A job read from the delivery stream: its entry and the verification it delivers (in
// that verification's partition's stream).
struct DeliveryJob {
    std::string entry_id;
    std::string ref;  // "{partition}<tag><suffix>" (redis_keys.hpp job_ref)
};

// Where one consumer is in reading the partitions' streams: first its own jobs left
// from before a restart, then new ones a window of partitions at a time, and now and
// then those a silent consumer held too long.
struct OutboxCursor {
    bool own_pending_left = true;
    int next_partition = 0;
    std::chrono::steady_clock::time_point next_claim{};
};

// What begin found: a message to deliver, a job dropped (its verification ended), or
// nothing to do (another consumer took it, it was finished before, Redis failed).
struct BegunJob {
    enum class Next { Deliver, Dropped, Nothing };
    Next next = Next::Nothing;
    std::string drop_reason;  // Dropped
    // Deliver (the channel also for Dropped). Locale, template name and variables as
    // stored: empty for the defaults and for none.
    std::string sealed_code;
    std::string to;
    std::string channel;
    std::string fallback;
    std::string locale;
    std::string template_name;
    std::string template_variables;
    int attempts_on_channel = 0;
    int ttl_seconds = 0;
    long long lifetime_ms = 0;  // how long the verification is still kept
};

// One delivery attempt's outcome, as finish records it.
struct AttemptOutcome {
    const char* outcome = "refused";  // sent, retry or refused
    std::string detail;               // sent: the provider's message id; else its error
    int retry_delay_ms = 0;           // retry
    std::string whatsapp_refusal;     // refused on WhatsApp: why
    int max_attempts = 0;             // per channel
    std::string channel;              // the attempt's
};

struct OutboxStats {
    long long undelivered_jobs = 0;
    double oldest_job_age_seconds = 0;
};

class OutboxQueue {
  public:
    explicit OutboxQueue(Store& store) : store_(store) {}

    // The jobs for `consumer` from the next partitions `cursor` names: while
    // `own_pending_left`, the ones it held before in every partition (cleared once there
    // are none); else new ones of the next window of partitions (at most one from each);
    // and, once a round of every partition is done and the claim's time has come, one job
    // per partition idle longer than `claim_idle_ms` at another consumer. Empty when the
    // window had none: `cursor` has moved on. Nothing when Redis is not answering. The
    // consumer group is created where it does not exist yet.
    std::optional<std::vector<DeliveryJob>> next_jobs(const std::string& consumer,
                                                      OutboxCursor& cursor, int claim_idle_ms);
    // How many partitions one read looks at.
    static constexpr int kReadWindow = 8;
    BegunJob begin(const std::string& consumer, const DeliveryJob& job);
    // What finish recorded: sent, retry, fallback, failed, or stale (another worker, a
    // receipt or the fallback timer moved the message first); nothing when Redis did not
    // answer.
    std::optional<std::string> finish(const DeliveryJob& job, const AttemptOutcome& attempt);
    // Remembers the provider's id of a message it accepted on `channel`, for
    // `lifetime_ms`, so that its receipts find the message (lua/delivery/map.lua); returns
    // the receipts that came before (on that channel), to be applied once the attempt is
    // recorded.
    std::vector<Receipt> remember_provider_id(const DeliveryJob& job, const std::string& channel,
                                              const std::string& provider_message_id,
                                              long long lifetime_ms);
    std::optional<ReceiptOutcome> apply_receipt(const DeliveryJob& job, const Receipt& receipt);
    // Moves up to `limit` delayed jobs whose time has come back onto the stream.
    void promote_due(int limit);
    std::optional<OutboxStats> stats();

  private:
    Store& store_;
};

}  // namespace verifyd
