// The outbox's Redis operations (outbox_queue.hpp).
#include "verifyd/outbox_queue.hpp"

#include <hiredis/hiredis.h>

#include <utility>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

// Entries of one stream as XREADGROUP and XAUTOCLAIM list them: [[id, [field, value…]]…].
void collect_entries(const redisReply* entries,
                     std::vector<std::pair<std::string, std::string>>& out) {
    if (!entries || entries->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < entries->elements; ++i) {
        const redisReply* entry = entries->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
        std::string ref;
        const redisReply* fields = entry->element[1];
        if (fields->type == REDIS_REPLY_ARRAY)
            for (size_t f = 0; f + 1 < fields->elements; f += 2)
                if (reply_string(fields->element[f]) == "r")
                    ref = reply_string(fields->element[f + 1]);
        out.emplace_back(reply_string(entry->element[0]), ref);
    }
}

// The keys begin and finish run on: the job's verification (in its number's hash, or
// its own record once superseded) and the outbox's.
std::vector<std::string> job_keys(const DeliveryJob& job) {
    const RecordRef record = parse_job_ref(job.ref).value_or(RecordRef{});
    return {number_key(record.tag), record_key(record), kDeliveryStream, kUndeliveredIndex,
            kDelayedJobs};
}

}  // namespace

std::optional<std::vector<DeliveryJob>> OutboxQueue::next_jobs(const std::string& consumer,
                                                               bool& own_pending_left, int count,
                                                               int claim_idle_ms) {
    const std::string how_many = std::to_string(count);
    std::vector<std::pair<std::string, std::string>> entries;
    auto read = store_.command({"XREADGROUP", "GROUP", kDeliveryGroup, consumer, "COUNT", how_many,
                                "STREAMS", kDeliveryStream, own_pending_left ? "0" : ">"});
    if (!read.ok()) {
        if (!starts_with(reply_string(read.value.get()), "NOGROUP")) return std::nullopt;
        store_.command({"XGROUP", "CREATE", kDeliveryStream, kDeliveryGroup, "0", "MKSTREAM"});
        return std::vector<DeliveryJob>{};
    }
    if (read.value->type == REDIS_REPLY_ARRAY && read.value->elements > 0) {
        const redisReply* stream = read.value->element[0];
        if (stream->type == REDIS_REPLY_ARRAY && stream->elements > 1)
            collect_entries(stream->element[1], entries);
    }
    if (own_pending_left && entries.empty()) own_pending_left = false;
    if (entries.empty()) {
        auto claimed = store_.command({"XAUTOCLAIM", kDeliveryStream, kDeliveryGroup, consumer,
                                       std::to_string(claim_idle_ms), "0-0", "COUNT", how_many});
        if (claimed.ok() && claimed.value->type == REDIS_REPLY_ARRAY && claimed.value->elements > 1)
            collect_entries(claimed.value->element[1], entries);
    }
    std::vector<DeliveryJob> jobs;
    for (auto& [id, ref] : entries) {
        if (ref.empty()) {
            // Deleted while pending: only the acknowledgement is left to do.
            store_.command({"XACK", kDeliveryStream, kDeliveryGroup, id});
            continue;
        }
        jobs.push_back({id, ref});
    }
    return jobs;
}

BegunJob OutboxQueue::begin(const std::string& consumer, const DeliveryJob& job) {
    auto keys = job_keys(job);
    keys.back() = kEventsStream;  // begin does not touch the delayed jobs
    auto begun =
        store_.fcall("outbox_begin", keys,
                     {kDeliveryGroup, job.entry_id, job.ref, consumer, store_.events_flag()});
    BegunJob found;
    // {'taken'}, or no answer: nothing to do here.
    if (!begun.ok() || begun.value->type != REDIS_REPLY_ARRAY || begun.value->elements < 2)
        return found;
    const redisReply* r = begun.value.get();
    if (reply_string(r->element[0]) == "drop") {
        found.drop_reason = reply_string(r->element[1]);
        // An empty reason: finished before, so nothing happened now.
        if (found.drop_reason.empty()) return found;
        found.next = BegunJob::Next::Dropped;
        if (r->elements > 2) found.channel = reply_string(r->element[2]);
        return found;
    }
    if (r->elements < 11) return found;
    found.next = BegunJob::Next::Deliver;
    found.sealed_code = reply_string(r->element[1]);
    found.to = reply_string(r->element[2]);
    found.channel = reply_string(r->element[3]);
    found.fallback = reply_string(r->element[4]);
    found.locale = reply_string(r->element[5]);
    found.template_name = reply_string(r->element[6]);
    found.template_variables = reply_string(r->element[7]);
    found.attempts_on_channel = static_cast<int>(reply_integer(r->element[8]));
    found.ttl_seconds = static_cast<int>(reply_integer(r->element[9]));
    found.lifetime_ms = reply_integer(r->element[10]);
    return found;
}

std::optional<std::string> OutboxQueue::finish(const DeliveryJob& job,
                                               const AttemptOutcome& attempt) {
    auto keys = job_keys(job);
    keys.push_back(kEventsStream);
    auto finished =
        store_.fcall("outbox_finish", keys,
                     {kDeliveryGroup, job.entry_id, job.ref, attempt.outcome, attempt.detail,
                      std::to_string(attempt.retry_delay_ms), attempt.whatsapp_refusal,
                      std::to_string(attempt.max_attempts), attempt.channel, store_.events_flag()});
    if (!finished.ok() || finished.value->type != REDIS_REPLY_ARRAY ||
        finished.value->elements == 0)
        return std::nullopt;
    return reply_string(finished.value->element[0]);
}

std::vector<Receipt> OutboxQueue::remember_provider_id(const DeliveryJob& job,
                                                       const std::string& channel,
                                                       const std::string& provider_message_id,
                                                       long long lifetime_ms) {
    auto parked = store_.fcall(
        "delivery_map",
        {provider_message_key(provider_message_id), parked_receipts_key(provider_message_id)},
        {job.ref, channel, std::to_string(lifetime_ms)});
    std::vector<Receipt> receipts;
    if (!parked.ok() || parked.value->type != REDIS_REPLY_ARRAY) return receipts;
    for (size_t i = 0; i < parked.value->elements; ++i) {
        // "<status> <error code>" (lua/delivery/lookup.lua)
        const std::string text = reply_string(parked.value->element[i]);
        const size_t space = text.find(' ');
        Receipt receipt;
        receipt.status = text.substr(0, space);
        receipt.channel = channel;
        if (space != std::string::npos) receipt.error_code = text.substr(space + 1);
        receipts.push_back(receipt);
    }
    return receipts;
}

std::optional<ReceiptOutcome> OutboxQueue::apply_receipt(const DeliveryJob& job,
                                                         const Receipt& receipt) {
    return store_.apply_receipt_now(job.ref, receipt);
}

void OutboxQueue::promote_due(int limit) {
    store_.fcall("outbox_promote", {kDelayedJobs, kDeliveryStream}, {std::to_string(limit)});
}

std::optional<OutboxStats> OutboxQueue::stats() {
    auto stats = store_.fcall("outbox_stats", {kUndeliveredIndex}, {});
    if (!stats.ok() || stats.value->type != REDIS_REPLY_ARRAY || stats.value->elements < 2)
        return std::nullopt;
    return OutboxStats{reply_integer(stats.value->element[0]),
                       static_cast<double>(reply_integer(stats.value->element[1])) / 1000.0};
}

}  // namespace verifyd
