// The store's operations on delivery receipts (store.hpp): lua/delivery/receipt.lua's
// KEYS, ARGV and reply, for a receipt about a job and for one that names only the
// provider's message id (looked up, or parked until the send that made it is known).
#include <hiredis/hiredis.h>

#include "verifyd/delivery.hpp"
#include "verifyd/store.hpp"

namespace verifyd {
namespace {

// The KEYS and ARGV of lua/delivery/receipt.lua for a receipt about `job`.
struct ReceiptCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
};

ReceiptCall receipt_call(const std::string& job, const Receipt& receipt, const char* events) {
    const RecordRef ref = parse_job_ref(job).value_or(RecordRef{});
    const PartitionQueues& queues = queues_of(ref.tag);
    const std::string reason = receipt.status == "failed" && receipt.channel == "whatsapp"
                                   ? whatsapp_refusal_of(receipt.error_code)
                                   : std::string();
    return {{number_key(ref.tag), record_key(ref), queues.delivery, queues.undelivered,
             queues.delayed, queues.events},
            {job, receipt.status, receipt.channel, receipt.error_code, reason, events}};
}

// lua/delivery/receipt.lua's reply; nothing when it is not one.
std::optional<ReceiptOutcome> read_receipt_outcome(const redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements == 0 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return std::nullopt;
    ReceiptOutcome outcome;
    outcome.outcome = reply_string(r->element[0]);
    if (outcome.outcome == "delivered" && r->elements > 3) {
        outcome.latency_ms = reply_integer(r->element[1]);
        outcome.channel = reply_string(r->element[2]);
        outcome.country = reply_string(r->element[3]);
    } else if (outcome.outcome == "failed" && r->elements > 2) {
        outcome.channel = reply_string(r->element[1]);
        outcome.country = reply_string(r->element[2]);
    } else if (r->elements > 1) {
        outcome.detail = reply_string(r->element[1]);
    }
    return outcome;
}

}  // namespace

void Store::apply_receipt(const std::string& job, const Receipt& receipt,
                          Then<ReceiptOutcome> then) {
    ReceiptCall call = receipt_call(job, receipt, events_flag());
    run_script("delivery_receipt", std::move(call.keys), call.args, true,
               [then = std::move(then)](Result<ScriptAnswer> reply) {
                   // The script answers with a word first, which run_script takes for an
                   // error: the reply itself is read.
                   const redisReply* r = reply.value.reply.get();
                   Result<ReceiptOutcome> result{reply.error, {}};
                   if (auto outcome = read_receipt_outcome(r)) {
                       result.error.reset();
                       result.value = *outcome;
                   }
                   then(std::move(result));
               });
}

std::optional<ReceiptOutcome> Store::apply_receipt_now(const std::string& job,
                                                       const Receipt& receipt) {
    ReceiptCall call = receipt_call(job, receipt, events_flag());
    auto reply = fcall("delivery_receipt", call.keys, call.args);
    if (!reply.ok()) return std::nullopt;
    return read_receipt_outcome(reply.value.get());
}

void Store::apply_provider_receipt(const std::string& provider_message_id, Receipt receipt,
                                   Then<ReceiptOutcome> then) {
    LaneCommand lookup{
        {"FCALL", "delivery_lookup", "2", provider_message_key(provider_message_id),
         parked_receipts_key(provider_message_id), receipt.status + " " + receipt.error_code,
         std::to_string(kParkedReceiptMs)},
        false};
    router_.submit(std::move(lookup), [this, receipt = std::move(receipt),
                                       then = std::move(then)](Result<ReplyHandle> reply) {
        if (!reply.ok()) return then({reply.error, {}});
        const redisReply* found = reply.value.get();
        if (found->type != REDIS_REPLY_ARRAY || found->elements < 2)
            return then({std::nullopt, ReceiptOutcome{"parked", "", "", "", 0}});
        Receipt accepted = receipt;
        accepted.channel = reply_string(found->element[1]);
        apply_receipt(reply_string(found->element[0]), accepted, then);
    });
}

}  // namespace verifyd
