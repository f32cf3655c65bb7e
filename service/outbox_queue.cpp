// The outbox's Redis operations (outbox_queue.hpp).
#include "verifyd/outbox_queue.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
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
// its own record once superseded) and its partition's outbox.
std::vector<std::string> job_keys(const DeliveryJob& job) {
    const RecordRef record = parse_job_ref(job.ref).value_or(RecordRef{});
    const PartitionQueues& queues = queues_of(record.tag);
    return {number_key(record.tag), record_key(record), queues.delivery, queues.undelivered,
            queues.delayed};
}

}  // namespace

std::optional<std::vector<DeliveryJob>> OutboxQueue::next_jobs(const std::string& consumer,
                                                               OutboxCursor& cursor,
                                                               int claim_idle_ms) {
    const int partitions = partition_count();
    const bool own = cursor.own_pending_left;
    const auto now = std::chrono::steady_clock::now();
    std::vector<int> window;
    if (own) {
        for (int p = 0; p < partitions; ++p) window.push_back(p);
    } else {
        for (int i = 0; i < std::min(kReadWindow, partitions); ++i)
            window.push_back((cursor.next_partition + i) % partitions);
        cursor.next_partition = (cursor.next_partition + kReadWindow) % partitions;
    }
    const bool claim = !own && cursor.next_partition < kReadWindow && now >= cursor.next_claim;
    std::vector<std::vector<std::string>> reads;
    for (int p : window)
        reads.push_back({"XREADGROUP", "GROUP", kDeliveryGroup, consumer, "COUNT",
                         own ? "100" : "1", "STREAMS", partition_queues(p).delivery,
                         own ? "0" : ">"});
    if (claim) {
        cursor.next_claim = now + std::chrono::milliseconds(std::max(1, claim_idle_ms / 2));
        for (int p = 0; p < partitions; ++p)
            reads.push_back({"XAUTOCLAIM", partition_queues(p).delivery, kDeliveryGroup, consumer,
                             std::to_string(claim_idle_ms), "0-0", "COUNT", "1"});
    }
    auto replies = store_.commands(reads);
    std::vector<std::pair<std::string, std::string>> entries;
    std::vector<int> entry_partitions;  // the partition of each of `entries`
    std::vector<std::vector<std::string>> group_creations;
    for (size_t i = 0; i < replies.size(); ++i) {
        const auto& reply = replies[i];
        const bool is_read = i < window.size();
        const int partition = is_read ? window[i] : static_cast<int>(i - window.size());
        if (!reply.ok()) {
            if (!starts_with(reply_string(reply.value.get()), "NOGROUP")) return std::nullopt;
            if (is_read)
                group_creations.push_back({"XGROUP", "CREATE", partition_queues(window[i]).delivery,
                                           kDeliveryGroup, "0", "MKSTREAM"});
            continue;
        }
        const redisReply* r = reply.value.get();
        if (is_read && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
            const redisReply* stream = r->element[0];
            if (stream->type == REDIS_REPLY_ARRAY && stream->elements > 1)
                collect_entries(stream->element[1], entries);
        } else if (!is_read && r->type == REDIS_REPLY_ARRAY && r->elements > 1) {
            collect_entries(r->element[1], entries);
        }
        entry_partitions.resize(entries.size(), partition);
    }
    if (!group_creations.empty()) store_.commands(group_creations);
    if (own && entries.empty()) cursor.own_pending_left = false;
    std::vector<DeliveryJob> jobs;
    std::vector<std::vector<std::string>> acknowledgements;
    for (size_t i = 0; i < entries.size(); ++i) {
        auto& [id, ref] = entries[i];
        if (!parse_job_ref(ref)) {
            // Deleted while pending: only the acknowledgement is left to do.
            acknowledgements.push_back(
                {"XACK", partition_queues(entry_partitions[i]).delivery, kDeliveryGroup, id});
            continue;
        }
        jobs.push_back({id, ref});
    }
    if (!acknowledgements.empty()) store_.commands(acknowledgements);
    return jobs;
}

BegunJob OutboxQueue::begin(const std::string& consumer, const DeliveryJob& job) {
    auto keys = job_keys(job);
    keys.back() =
        queues_of(parse_job_ref(job.ref).value_or(RecordRef{}).tag).events;  // not the delayed jobs
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
    keys.push_back(queues_of(parse_job_ref(job.ref).value_or(RecordRef{}).tag).events);
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
    std::vector<std::vector<std::string>> promotions;
    for (int p = 0; p < partition_count(); ++p) {
        const PartitionQueues& queues = partition_queues(p);
        promotions.push_back({"FCALL", "outbox_promote", "2", queues.delayed, queues.delivery,
                              std::to_string(limit)});
    }
    store_.commands(promotions);
}

std::optional<OutboxStats> OutboxQueue::stats() {
    std::vector<std::vector<std::string>> reads;
    for (int p = 0; p < partition_count(); ++p)
        reads.push_back({"FCALL", "outbox_stats", "1", partition_queues(p).undelivered});
    OutboxStats stats;
    long long oldest_ms = 0;
    for (const auto& reply : store_.commands(reads)) {
        const redisReply* r = reply.value.get();
        if (!reply.ok() || r->type != REDIS_REPLY_ARRAY || r->elements < 2) return std::nullopt;
        stats.undelivered_jobs += reply_integer(r->element[0]);
        oldest_ms = std::max(oldest_ms, reply_integer(r->element[1]));
    }
    stats.oldest_job_age_seconds = static_cast<double>(oldest_ms) / 1000.0;
    return stats;
}

}  // namespace verifyd
