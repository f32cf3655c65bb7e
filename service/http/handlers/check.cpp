// POST /verify/check (§4): a code against a verification named by id, or by number
// (the current verification of that number in the caller's mode). The check script
// compares the presented hashes in constant time and owns every state change. The
// Twilio face's checks (handlers/twilio_verifications.cpp) take the same way.
#include "service/http/handlers.hpp"
#include "verifyd/fraud_guard.hpp"
#include "verifyd/requests.hpp"

namespace verifyd {
namespace {

// An approval the fraud guard must count (its send was counted), then `respond`; a
// replayed approval was counted when it was first answered.
Then<CheckOutcome> count_approval(const ExchangePtr& exchange, const RecordRef& ref,
                                  Then<CheckOutcome> respond) {
    return [exchange, ref, respond = std::move(respond)](Result<CheckOutcome> outcome) {
        const auto& number_key = exchange->credentials->number_key;
        if (!outcome.ok() || outcome.replayed || outcome.value.guarded_at_ms == 0 ||
            outcome.value.status != "approved" || !number_key)
            return respond(std::move(outcome));
        exchange->guarded([&] {
            const GuardedSend send =
                guarded_send(*number_key, exchange->caller, GuardMode::On, outcome.value.to,
                             outcome.value.country, ref.tag, ref.suffix, "", "",
                             exchange->services.settings.fraud);
            exchange->services.store.approve(
                send, outcome.value.guarded_at_ms,
                [respond, outcome](Result<bool>) { respond(outcome); });
        });
    };
}

// `answer` once the outcome is counted in the metrics (a replayed one was counted
// before).
Then<CheckOutcome> count_outcome(const ExchangePtr& exchange, Then<CheckOutcome> answer) {
    return [exchange, answer = std::move(answer)](Result<CheckOutcome> outcome) {
        if (outcome.ok() && !outcome.replayed && outcome.value.status != "pending")
            exchange->services.metrics.count_verification(
                outcome.value.status, outcome.value.country, outcome.value.channel);
        answer(std::move(outcome));
    };
}

void check_by_id(const ExchangePtr& exchange, const CheckRequest& check,
                 const Then<CheckOutcome>& answer) {
    auto ref = record_ref_of(check.id, kVerificationPrefix);
    if (ref.error) return exchange->refuse_final(*ref.error);
    exchange->idempotently(
        [exchange, ref = ref.value, code = check.code, answer](const Idempotency* idempotency) {
            check_code(exchange, ref, code, idempotency, {}, answer);
        });
}

}  // namespace

void check_code(const ExchangePtr& exchange, const RecordRef& ref, const std::string& code,
                const Idempotency* idempotency, const TwilioScope& scope,
                Then<CheckOutcome> answer) {
    const std::string verification_id = make_record_id(kVerificationPrefix, ref);
    exchange->counting().check(
        exchange->caller, ref, code_hashes(*exchange->credentials, verification_id, code),
        idempotency, scope, count_approval(exchange, ref, count_outcome(exchange, answer)));
}

void check_current(const ExchangePtr& exchange, const std::string& tag, const std::string& code,
                   const TwilioScope& scope, Then<CheckOutcome> answer) {
    exchange->idempotently([exchange, tag, code, scope, answer](const Idempotency* idempotency) {
        // The key is copied: the lookup answers after this step has returned.
        std::optional<Idempotency> key;
        if (idempotency) key = *idempotency;
        exchange->services.store.current_verification(
            tag, [exchange, tag, code, scope, answer, key](Result<std::string> current) {
                exchange->guarded([&] {
                    const Idempotency* idempotency = key ? &*key : nullptr;
                    // With no current verification an idempotent check still asks the
                    // script, which replays a recorded answer or records this 4040.
                    if (current.error &&
                        !(idempotency && current.error->code == ErrorCode::VerificationNotFound))
                        return exchange->refuse(*current.error);
                    RecordRef ref{tag, ""};
                    if (current.ok()) ref = *parse_record_id(current.value, kVerificationPrefix);
                    check_code(exchange, ref, code, idempotency, scope, answer);
                });
            });
    });
}

void check_verification(const HttpRequest& request, const std::string&,
                        const ExchangePtr& exchange) {
    auto body = parse_json_body(request);
    if (body.error) return exchange->refuse_final(*body.error);
    auto parsed = parse_check_request(body.value);
    if (parsed.error) return exchange->refuse_final(*parsed.error);
    const CheckRequest& check = parsed.value;
    exchange->caller.sandbox = !exchange->live_key || check.sandbox;
    Then<CheckOutcome> answer =
        exchange->respond_with<CheckOutcome>([](Exchange& x, const CheckOutcome& outcome) {
            return x.ok(200, JsonObjectText()
                                 .member("attempts_remaining",
                                         static_cast<long long>(outcome.attempts_remaining))
                                 .member("id", make_record_id(kVerificationPrefix, outcome.ref))
                                 .member("status", outcome.status)
                                 .member("to", outcome.to)
                                 .member("verified", outcome.status == "approved"));
        });
    if (check.to.empty() && !check.id.empty()) return check_by_id(exchange, check, answer);
    auto tag = exchange->tag_of_number(check.to);
    if (tag.error) return exchange->refuse_final(*tag.error);
    check_current(exchange, tag.value, check.code, {}, answer);
}

}  // namespace verifyd
