// The events' and the due index's Redis operations (event_queue.hpp).
#include "verifyd/event_queue.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>

namespace verifyd {
namespace {

// The keys delivery/due.lua runs on.
std::vector<std::string> due_keys(const std::string& job) {
    const RecordRef record = parse_job_ref(job).value_or(RecordRef{});
    const PartitionQueues& queues = queues_of(record.tag);
    return {number_key(record.tag), record_key(record), queues.due,   queues.delivery,
            queues.undelivered,     queues.delayed,     queues.events};
}

// A stream entry id "<ms>-<sequence>" as two numbers.
std::pair<unsigned long long, unsigned long long> entry_order(const std::string& id) {
    const size_t dash = id.find('-');
    return {std::strtoull(id.c_str(), nullptr, 10),
            dash == std::string::npos ? 0ULL : std::strtoull(id.c_str() + dash + 1, nullptr, 10)};
}

}  // namespace

bool event_before(const QueuedEvent& a, const QueuedEvent& b) {
    const auto order_a = entry_order(a.entry_id), order_b = entry_order(b.entry_id);
    if (order_a != order_b) return order_a < order_b;
    return a.partition < b.partition;
}

std::string event_id(const QueuedEvent& event) {
    return "evt_" + event.entry_id + "-" + std::to_string(event.partition);
}

std::optional<std::vector<std::string>> EventQueue::due_jobs(int64_t now_ms, int limit) {
    std::vector<std::vector<std::string>> reads;
    for (int p = 0; p < partition_count(); ++p)
        reads.push_back({"ZRANGEBYSCORE", partition_queues(p).due, "-inf", std::to_string(now_ms),
                         "LIMIT", "0", std::to_string(limit)});
    std::vector<std::string> jobs;
    for (const auto& due : store_.commands(reads)) {
        if (!due.ok() || due.value->type != REDIS_REPLY_ARRAY) return std::nullopt;
        for (size_t i = 0; i < due.value->elements && jobs.size() < static_cast<size_t>(limit); ++i)
            jobs.push_back(reply_string(due.value->element[i]));
    }
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
    std::vector<std::vector<std::string>> reads;
    for (int p = 0; p < partition_count(); ++p)
        reads.push_back(
            {"XRANGE", partition_queues(p).events, "-", "+", "COUNT", std::to_string(limit)});
    auto replies = store_.commands(reads);
    std::vector<QueuedEvent> events;
    for (size_t p = 0; p < replies.size(); ++p) {
        const auto& range = replies[p];
        if (!range.ok() || range.value->type != REDIS_REPLY_ARRAY) return std::nullopt;
        for (size_t i = 0; i < range.value->elements; ++i) {
            const redisReply* entry = range.value->element[i];
            if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
            QueuedEvent event;
            event.partition = static_cast<int>(p);
            event.entry_id = reply_string(entry->element[0]);
            const redisReply* fields = entry->element[1];
            for (size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
                 f += 2) {
                const std::string name = reply_string(fields->element[f]);
                std::string value = reply_string(fields->element[f + 1]);
                if (name == "t") event.type = std::move(value);
                if (name == "r") event.job = std::move(value);
                if (name == "at") event.at_ms = std::atoll(value.c_str());
                if (name == "v") event.fields = std::move(value);
            }
            events.push_back(std::move(event));
        }
    }
    // Oldest first over every partition (each partition's own order is kept).
    std::sort(events.begin(), events.end(), event_before);
    if (events.size() > static_cast<size_t>(limit)) events.resize(static_cast<size_t>(limit));
    return events;
}

void EventQueue::remove_event(const QueuedEvent& event) {
    store_.fcall("events_delivered", {partition_queues(event.partition).events}, {event.entry_id});
}

std::optional<long long> EventQueue::pending_events() {
    std::vector<std::vector<std::string>> reads;
    for (int p = 0; p < partition_count(); ++p)
        reads.push_back({"XLEN", partition_queues(p).events});
    long long total = 0;
    for (const auto& length : store_.commands(reads)) {
        if (!length.ok()) return std::nullopt;
        total += reply_integer(length.value.get());
    }
    return total;
}

}  // namespace verifyd
