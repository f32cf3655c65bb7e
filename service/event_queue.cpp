// The events' and the due index's Redis operations (event_queue.hpp).
#include "verifyd/event_queue.hpp"

#include <hiredis/hiredis.h>

namespace verifyd {
namespace {

// The keys delivery/due.lua runs on.
std::vector<std::string> due_keys(const std::string& job) {
    const RecordRef record = parse_job_ref(job).value_or(RecordRef{});
    return {number_key(record.tag), record_key(record), kDueIndex,    kDeliveryStream,
            kUndeliveredIndex,      kDelayedJobs,       kEventsStream};
}

}  // namespace

std::optional<std::vector<std::string>> EventQueue::due_jobs(int64_t now_ms, int limit) {
    auto due = store_.command({"ZRANGEBYSCORE", kDueIndex, "-inf", std::to_string(now_ms), "LIMIT",
                               "0", std::to_string(limit)});
    if (!due.ok() || due.value->type != REDIS_REPLY_ARRAY) return std::nullopt;
    std::vector<std::string> jobs;
    for (size_t i = 0; i < due.value->elements; ++i)
        jobs.push_back(reply_string(due.value->element[i]));
    return jobs;
}

std::optional<DueOutcome> EventQueue::run_due(const std::string& job) {
    auto done = store_.fcall("delivery_due", due_keys(job), {job, store_.events_flag()});
    if (!done.ok() || done.value->type != REDIS_REPLY_ARRAY || done.value->elements < 3)
        return std::nullopt;
    const redisReply* r = done.value.get();
    // Answers of a release before the channel was in them have three elements.
    return DueOutcome{reply_integer(r->element[0]) == 1, reply_integer(r->element[1]) == 1,
                      reply_string(r->element[2]),
                      r->elements > 3 ? reply_string(r->element[3]) : std::string()};
}

bool EventQueue::hold_lease(const std::string& replica, int lease_ms) {
    auto held = store_.fcall("events_lease", {kEventsLease}, {replica, std::to_string(lease_ms)});
    return held.ok() && reply_integer(held.value.get()) == 1;
}

void EventQueue::release_lease(const std::string& replica) {
    store_.fcall("events_lease", {kEventsLease}, {replica, "0"});
}

std::optional<std::vector<QueuedEvent>> EventQueue::oldest_events(int limit) {
    auto range =
        store_.command({"XRANGE", kEventsStream, "-", "+", "COUNT", std::to_string(limit)});
    if (!range.ok() || range.value->type != REDIS_REPLY_ARRAY) return std::nullopt;
    std::vector<QueuedEvent> events;
    for (size_t i = 0; i < range.value->elements; ++i) {
        const redisReply* entry = range.value->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
        QueuedEvent event;
        event.entry_id = reply_string(entry->element[0]);
        const redisReply* fields = entry->element[1];
        for (size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements; f += 2) {
            const std::string name = reply_string(fields->element[f]);
            std::string value = reply_string(fields->element[f + 1]);
            if (name == "t") event.type = std::move(value);
            if (name == "r") event.job = std::move(value);
            if (name == "at") event.at_ms = std::atoll(value.c_str());
            if (name == "v") event.fields = std::move(value);
        }
        events.push_back(std::move(event));
    }
    return events;
}

void EventQueue::remove_event(const std::string& entry_id) {
    store_.fcall("events_delivered", {kEventsStream}, {entry_id});
}

std::optional<long long> EventQueue::pending_events() {
    auto length = store_.command({"XLEN", kEventsStream});
    if (!length.ok()) return std::nullopt;
    return reply_integer(length.value.get());
}

}  // namespace verifyd
