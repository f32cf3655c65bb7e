// The events dispatcher: posts verification events (lib/events.lua wrote them to a Redis
// Stream, in the same call as each change) to VERIFYD_EVENTS_URL, signed like the webhook
// provider (X-Verifyd-Signature) with VERIFYD_EVENTS_SECRET, under Idempotency-Key: the
// event's id. One replica at a time holds the lease and posts, oldest first, one at a
// time: a verification's events arrive in order, and an endpoint that fails holds the
// rest back until it answers 2xx again (retried with backoff, the same id every time).
// An event is deleted from the stream only once delivered, so a restart or a replica's
// death loses none; the lease runs out and another replica goes on.
// Not for: emitting events (the scripts do) or the due index (timers.hpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "verifyd/config.hpp"
#include "verifyd/event_queue.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

// The body posted for an event: {"id": "evt_…", "type", "created_at", "account",
// "sandbox", "data"}, data the verification (or, for message.status, its message) as
// GET shows it, or for fraud.paused and fraud.resumed the pause as GET /fraud/blocks
// shows it. Nothing when the event's fields are unreadable.
std::optional<nlohmann::json> event_body(const QueuedEvent& event, const Templates& templates,
                                         const std::string& app_name);

class EventDispatcher {
  public:
    EventDispatcher(const EventsSettings& settings, Store& store, const Templates& templates,
                    const std::string& app_name, Metrics& metrics);
    ~EventDispatcher();

    // Starts the thread, unless no VERIFYD_EVENTS_URL is set.
    void start();
    void stop();

  private:
    void run();
    // Posts the oldest events while this replica holds the lease; false when one failed.
    bool post_oldest();
    void pause(int milliseconds);

    const EventsSettings settings_;
    EventQueue queue_;
    const Templates& templates_;
    const std::string app_name_;
    Metrics& metrics_;
    std::optional<QueuedEvent> last_seen_;  // the newest event counted as queued
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

}  // namespace verifyd
