// The Redis work of verification events and of the due index, as named operations like
// the outbox's (outbox_queue.hpp): the verifications whose time has come and what
// delivery/due.lua did with one, the dispatcher's lease, the oldest events not yet
// delivered, and their removal once delivered. Every state change is a script of
// lua/delivery/ or lua/events/. Calls block on the calling thread's own connection.
// Not for: emitting events (the scripts that change state do, in the same call) or
// posting them (events.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/store.hpp"

namespace verifyd {

// An event as the events stream holds it (lib/events.lua).
struct QueuedEvent {
    int partition = 0;     // whose stream holds it
    std::string entry_id;  // the stream entry's id
    std::string type;      // verification.created, message.status, …
    std::string job;       // the verification, {partition}<tag><suffix>
    int64_t at_ms = 0;     // the time it reports
    std::string fields;    // the verification's readable fields, a JSON array
};

// What delivery/due.lua did with one verification.
struct DueOutcome {
    bool fell_back = false;  // its WhatsApp message's fallback timer ran out: SMS queued
    bool expired = false;    // it expired pending: verification.expired recorded
    std::string country;
    std::string channel;  // the one its send asked for
};

// The event's id: evt_, its entry's id and its partition ("evt_1764979200123-0-17"), unique
// over the partitions' streams.
std::string event_id(const QueuedEvent& event);
// Oldest first: by entry id, then partition (entries of one millisecond in two partitions).
bool event_before(const QueuedEvent& a, const QueuedEvent& b);

class EventQueue {
  public:
    explicit EventQueue(Store& store) : store_(store) {}

    // Up to `limit` verifications whose time in the due index is `now_ms` or before.
    std::optional<std::vector<std::string>> due_jobs(int64_t now_ms, int limit);
    std::optional<DueOutcome> run_due(const std::string& job);
    // Takes or keeps the dispatcher's lease for `lease_ms`; whether `replica` holds it.
    bool hold_lease(const std::string& replica, int lease_ms);
    // Gives the lease up, if `replica` holds it, so that another replica goes on at once.
    void release_lease(const std::string& replica);
    // The oldest `limit` events not yet delivered, oldest first.
    std::optional<std::vector<QueuedEvent>> oldest_events(int limit);
    void remove_event(const QueuedEvent& event);
    std::optional<long long> pending_events();

  private:
    Store& store_;
};

}  // namespace verifyd
