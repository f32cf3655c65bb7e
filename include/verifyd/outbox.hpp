// The outbox: delivery threads that take live sends' jobs from a Redis Stream (one
// consumer group shared by every replica), deliver them through the provider, and
// record the outcome through the outbox's named operations (outbox_queue.hpp). A job a dead replica
// held is taken over after VERIFYD_DELIVERY_CLAIM_IDLE_MS; retries back off exponentially with
// jitter and honour Retry-After; a WhatsApp refusal falls back to SMS when asked to.
// Not for: creating jobs (the send script does, atomically with the verification).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/credentials.hpp"
#include "verifyd/delivery.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/outbox_queue.hpp"
#include "verifyd/store.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

// The delay before retry number `attempt` (1 = the first retry): the backoff doubled
// per attempt up to its cap, drawn uniformly from its upper half, and never shorter
// than the provider's Retry-After.
int retry_delay_ms(const DeliverySettings& settings, int attempt, int retry_after_seconds);

// Reads the outbox's size and oldest job into the metrics' gauges. Blocking: called
// once a second from the main thread, so that a scrape never waits for Redis on an
// HTTP thread and the numbers are at most a second old whatever the delivery threads
// are doing.
void refresh_outbox_gauges(Store& store, Metrics& metrics);

class Outbox {
  public:
    Outbox(const OutboxSettings& settings, const CredentialStore& credentials, Store& store,
           const Templates& templates, Metrics& metrics);
    ~Outbox();

    // Starts the delivery threads, unless no provider is configured.
    void start();
    // Lets every attempt in flight finish, then stops the threads.
    void stop();

  private:
    void run(int index);
    void deliver(Provider& provider, const std::string& consumer, const DeliveryJob& job);
    // The message a begun job sends, without its code.
    OutgoingMessage message_of(const RecordRef& record, const BegunJob& begun) const;
    // Opens the code (under the seal key, or the previous one while a rotation lasts),
    // renders the body and calls the provider.
    DeliveryResult attempt(Provider& provider, OutgoingMessage& message,
                           const std::string& sealed_code) const;
    // Records the attempt's outcome, then logs and counts what it came to.
    void record_outcome(const Provider& provider, const DeliveryJob& job,
                        const OutgoingMessage& message, const DeliveryResult& result);
    void report_dropped(const Provider& provider, const RecordRef& record, const BegunJob& begun);
    void pause(int milliseconds);

    const OutboxSettings settings_;
    const CredentialStore& credentials_;
    OutboxQueue queue_;
    const Templates& templates_;
    Metrics& metrics_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

}  // namespace verifyd
