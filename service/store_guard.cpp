// The store's fraud guard and client limit operations (store.hpp): the KEYS and ARGV of
// lua/guard/ and lua/client/, and their answers read.
#include <hiredis/hiredis.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "verifyd/store.hpp"

namespace verifyd {
namespace {

std::optional<PauseEntry> parse_pause_entry(const std::string& member) {
    auto json = nlohmann::json::parse(member, nullptr, false);
    if (!json.is_array() || json.size() != 4) return std::nullopt;
    for (const auto& part : json)
        if (!part.is_string()) return std::nullopt;
    return PauseEntry{member, json[0].get<std::string>(), json[1].get<std::string>() == "s",
                      json[2].get<std::string>(), json[3].get<std::string>()};
}

std::vector<PauseEntry> read_pause_entries(const redisReply* reply) {
    std::vector<PauseEntry> entries;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return entries;
    for (size_t i = 0; i < reply->elements; ++i)
        if (auto entry = parse_pause_entry(reply_string(reply->element[i])))
            entries.push_back(std::move(*entry));
    return entries;
}

// The ARGV a pause's own script (resume, lift) takes after its target and settings.
std::vector<std::string> pause_args(const PauseEntry& entry, const std::string& settings,
                                    const char* events) {
    return {entry.target,  settings, entry.account, mode_letter(entry.sandbox),
            entry.country, events};
}

// One send's decision in lua/guard/admit.lua's reply: {0, verdict, target, reason,
// counted_at, change…}; nullopt for anything else.
std::optional<GuardVerdict> read_verdict(const redisReply* decision) {
    if (!decision || decision->type != REDIS_REPLY_ARRAY || decision->elements < 5)
        return std::nullopt;
    GuardVerdict verdict;
    verdict.verdict = reply_string(decision->element[1]);
    verdict.target = reply_string(decision->element[2]);
    verdict.reason = reply_string(decision->element[3]);
    verdict.counted_at_ms = reply_integer(decision->element[4]);
    for (size_t i = 5; i < decision->elements; ++i)
        if (auto pause = parse_pause(reply_string(decision->element[i])))
            verdict.changes.push_back(std::move(*pause));
    return verdict;
}

}  // namespace

void Store::admit(const GuardedSend& send, Then<GuardVerdict> then) {
    auto batch = admit_batches_.add(send.slot.tag, {send, std::move(then)});
    if (!batch.empty()) run_admits(std::move(batch));
}

void Store::run_admits(std::vector<PendingAdmit> batch) {
    const GuardSlot& slot = batch.front().send.slot;
    std::vector<std::string> keys = {slot.safe,
                                     slot.pauses,
                                     slot.strikes,
                                     batch.front().send.country_key,
                                     queues_of(slot.tag).pauses,
                                     queues_of(slot.tag).events};
    std::vector<std::string> args = {limits_.guard_settings, slot.account,
                                     mode_letter(slot.sandbox), slot.country, events_flag()};
    for (const PendingAdmit& pending : batch) {
        keys.push_back(pending.send.prefix_key);
        args.insert(args.end(), {pending.send.number_tag, guard_mode_name(pending.send.mode),
                                 pending.send.prefix});
    }
    auto sends = std::make_shared<std::vector<PendingAdmit>>(std::move(batch));
    run_script(
        "guard_admit", std::move(keys), args, false, [this, sends](Result<ScriptAnswer> reply) {
            // The slot's next call goes out before these sends go on: their own calls
            // (the send that creates) are written after it in the same batch.
            std::vector<PendingAdmit> next = admit_batches_.next(sends->front().send.slot.tag);
            if (!next.empty()) run_admits(std::move(next));
            const redisReply* r = reply.ok() ? reply.value.answer : nullptr;
            const bool whole = r && r->elements == sends->size() + 1;
            for (size_t i = 0; i < sends->size(); ++i) {
                Result<GuardVerdict> result{reply.error, {}};
                if (reply.ok()) {
                    auto verdict = whole ? read_verdict(r->element[i + 1]) : std::nullopt;
                    if (verdict)
                        result.value = std::move(*verdict);
                    else
                        result.error = make_error(ErrorCode::InternalError);
                }
                answer_item((*sends)[i].then, std::move(result));
            }
        });
}

void Store::limit_clients(const GuardedSend& send, bool count, Then<ClientVerdict> then) {
    std::vector<std::string> keys;
    std::vector<std::string> args = {count ? "count" : "peek", send.suffix};
    for (const auto& client : send.clients) {
        keys.push_back(client.key);
        args.push_back(client.windows);
    }
    run_script("client_limit", std::move(keys), args, false,
               [fields = send.clients, then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<ClientVerdict> result;
                   const redisReply* r = reply.value.answer;
                   if (reply.error && reply.error->code == ErrorCode::ClientRateLimit && r &&
                       r->elements > 2) {
                       size_t which = static_cast<size_t>(reply_integer(r->element[2]));
                       result.value.over = true;
                       result.value.retry_after = static_cast<int>(reply_integer(r->element[1]));
                       if (which >= 1 && which <= fields.size())
                           result.value.field = fields[which - 1].field;
                   } else {
                       result.error = reply.error;
                   }
                   then(std::move(result));
               });
}

void Store::release(const GuardedSend& send, int64_t counted_at_ms, bool clients_counted) {
    if (counted_at_ms > 0)
        run_script("guard_release", {send.prefix_key, send.country_key},
                   {std::to_string(counted_at_ms), limits_.guard_settings}, false,
                   [](Result<ScriptAnswer>) {});
    if (clients_counted && !send.clients.empty()) {
        std::vector<std::string> keys;
        for (const auto& client : send.clients) keys.push_back(client.key);
        run_script("client_limit", std::move(keys), {"release", send.suffix}, false,
                   [](Result<ScriptAnswer>) {});
    }
}

void Store::approve(const GuardedSend& send, int64_t counted_at_ms, Then<bool> then) {
    run_script("guard_approve", {send.prefix_key, send.country_key},
               {std::to_string(counted_at_ms), limits_.guard_settings}, false,
               [then = std::move(then)](Result<ScriptAnswer> reply) {
                   then({reply.error, reply.ok()});
               });
}

void Store::safe_list(const GuardSlot& slot, const std::string& number_tag, const char* operation,
                      Then<bool> then) {
    const bool changes = std::string(operation) != "get";
    run_script("guard_safe", {slot.safe}, {operation, number_tag}, changes,
               [then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<bool> result{reply.error, false};
                   if (reply.ok())
                       result.value = reply_integer(reply.value.answer->element[1]) == 1;
                   then(std::move(result));
               });
}

void Store::pause_index(Then<std::vector<PauseEntry>> then) {
    on_every_partition(
        [](const PartitionQueues& queues) {
            return std::vector<std::string>{"ZRANGE", queues.pauses, "0", "-1"};
        },
        [then = std::move(then)](Result<std::vector<ReplyHandle>> replies) {
            Result<std::vector<PauseEntry>> result{replies.error, {}};
            for (const ReplyHandle& reply : replies.value)
                for (PauseEntry& entry : read_pause_entries(reply.get()))
                    result.value.push_back(std::move(entry));
            then(std::move(result));
        });
}

void Store::read_pauses(const HashKey& number_key, const std::vector<PauseEntry>& entries,
                        Then<std::vector<Pause>> then) {
    if (entries.empty()) return then({std::nullopt, {}});
    // On a cluster the replies come from several lanes' threads.
    struct Gathered {
        std::mutex mutex;
        std::vector<std::optional<Pause>> pauses;
        size_t left = 0;
        std::optional<ApiError> error;
        Then<std::vector<Pause>> then;
    };
    auto gathered = std::make_shared<Gathered>();
    gathered->pauses.resize(entries.size());
    gathered->left = entries.size();
    gathered->then = std::move(then);
    for (size_t i = 0; i < entries.size(); ++i) {
        const PauseEntry& entry = entries[i];
        const GuardSlot slot = guard_slot(number_key, entry.account, entry.sandbox, entry.country);
        router_.submit(
            {{"HGET", slot.pauses, entry.target}, false},
            [gathered, i, country = entry.country](Result<ReplyHandle> reply) {
                {
                    std::lock_guard<std::mutex> lock(gathered->mutex);
                    if (reply.error) gathered->error = reply.error;
                    if (reply.ok() && reply.value->type == REDIS_REPLY_STRING)
                        if ((gathered->pauses[i] = parse_pause(reply_string(reply.value.get()))))
                            gathered->pauses[i]->country = country;
                    if (--gathered->left > 0) return;
                }
                Result<std::vector<Pause>> result{gathered->error, {}};
                for (auto& pause : gathered->pauses)
                    if (pause) result.value.push_back(std::move(*pause));
                gathered->then(std::move(result));
            });
    }
}

void Store::lift(const HashKey& number_key, const PauseEntry& entry, Then<Pause> then) {
    const GuardSlot slot = guard_slot(number_key, entry.account, entry.sandbox, entry.country);
    run_script("guard_lift",
               {slot.pauses, slot.strikes, target_key(number_key, slot, entry.target),
                queues_of(slot.tag).pauses, queues_of(slot.tag).events},
               pause_args(entry, limits_.guard_settings, events_flag()), true,
               [then = std::move(then)](Result<ScriptAnswer> reply) {
                   Result<Pause> result{reply.error, {}};
                   if (reply.ok()) {
                       auto pause = parse_pause(reply_string(reply.value.answer->element[1]));
                       if (pause) result.value = *pause;
                   }
                   then(std::move(result));
               });
}

std::vector<PauseEntry> Store::due_pauses(int64_t now_ms, int limit) {
    std::vector<std::vector<std::string>> reads;
    for (int p = 0; p < partition_count(); ++p)
        reads.push_back({"ZRANGEBYSCORE", partition_queues(p).pauses, "-inf",
                         std::to_string(now_ms), "LIMIT", "0", std::to_string(limit)});
    std::vector<PauseEntry> due;
    for (const auto& reply : commands(reads))
        for (PauseEntry& entry : read_pause_entries(reply.value.get()))
            if (due.size() < static_cast<size_t>(limit)) due.push_back(std::move(entry));
    return due;
}

std::optional<Pause> Store::resume(const HashKey& number_key, const PauseEntry& entry) {
    const GuardSlot slot = guard_slot(number_key, entry.account, entry.sandbox, entry.country);
    auto reply = fcall("guard_resume",
                       {slot.pauses, target_key(number_key, slot, entry.target),
                        queues_of(slot.tag).pauses, queues_of(slot.tag).events},
                       pause_args(entry, limits_.guard_settings, events_flag()));
    if (!reply.ok() || reply.value->type != REDIS_REPLY_ARRAY || reply.value->elements < 2)
        return std::nullopt;
    return parse_pause(reply_string(reply.value->element[1]));
}

std::optional<long long> Store::active_pauses() {
    std::vector<std::vector<std::string>> counts;
    for (int p = 0; p < partition_count(); ++p)
        counts.push_back({"ZCARD", partition_queues(p).pauses});
    long long total = 0;
    for (const auto& reply : commands(counts)) {
        if (!reply.ok() || reply.value->type != REDIS_REPLY_INTEGER) return std::nullopt;
        total += reply_integer(reply.value.get());
    }
    return total;
}

}  // namespace verifyd
