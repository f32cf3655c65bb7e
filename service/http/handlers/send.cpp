// POST /verify/send (§4): a new verification to a number the account's destination
// policy allows (§10.1), that the fraud guard (§10.3) and the client limits (§10.2)
// admit, its code hashed (and, for a live one, sealed for the outbox) before the store
// creates it and its delivery job in one call. The guard decides, then the send creates:
// what the guard and the client limits counted for a send that is then not created is
// taken back.
#include "service/http/handlers.hpp"
#include "service/http/views.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/fraud_guard.hpp"
#include "verifyd/log.hpp"
#include "verifyd/requests.hpp"

namespace verifyd {
namespace {

// The verification to create: everything but what the store decides (status, times).
NewVerification new_verification(const SendRequest& send, const std::string& tag,
                                 const std::string& region, const Exchange& exchange) {
    const Credentials& credentials = *exchange.credentials;
    NewVerification created;
    Verification& v = created.verification;
    v.ref = {tag, random_token(16)};
    const std::string verification_id = make_record_id(kVerificationPrefix, v.ref);
    const std::string code = generate_code(send.code_length);
    v.sandbox = exchange.caller.sandbox;
    v.to = send.to;
    v.channel = send.channel;
    v.fallback = send.fallback;
    v.fallback_after_seconds = send.fallback_after_seconds;
    v.country = region;
    v.locale = send.locale;
    v.code_length = send.code_length;
    v.max_attempts = exchange.services.settings.max_attempts;
    created.ttl_seconds = send.ttl_seconds;
    created.code_hashes = code_hashes(credentials, verification_id, code);
    v.template_name = send.template_name.empty() ? kDefaultTemplateName : send.template_name;
    if (!send.template_variables.empty()) v.template_variables = send.template_variables.dump();
    // A sandbox code is test data and stays readable; a live code exists only as its
    // hash and, until delivered, sealed for the outbox.
    if (v.sandbox) {
        v.code = code;
    } else {
        created.sealed_code = seal_code(credentials.sealing_key(), verification_id, code);
    }
    v.delivery_status = "queued";
    v.service_sid = send.service_sid;
    v.twilio_sid = send.twilio_sid;
    return created;
}

// A send on its way through the guard, and what counted it so far.
struct GuardState {
    GuardedSend send;
    int64_t counted_at_ms = 0;  // when the guard counted it; 0 = it did not
    bool clients_counted = false;
};
using GuardStatePtr = std::shared_ptr<GuardState>;

// `answer` once the send's metrics are counted and a sandbox message is in its account's
// inbox (a replayed send was counted and put there before). The inbox is another slot,
// hence another call. A put that fails still answers the send as created, since it was:
// the message stays in its number's listing, and the log says which one the inbox misses.
Then<Verification> count_created(const ExchangePtr& exchange, Then<Verification> answer) {
    return [exchange, answer = std::move(answer)](Result<Verification> result) {
        if (!result.ok() || result.replayed) return answer(std::move(result));
        const Verification& v = result.value;
        exchange->services.metrics.count_send(v.sandbox, v.channel);
        exchange->services.metrics.count_verification("sent", v.country, v.channel);
        auto inbox = inbox_slot(*exchange);
        if (!v.sandbox || !inbox.ok()) return answer(std::move(result));
        exchange->services.store.put_inbox(
            inbox.value, v.ref, v.created_ms, [answer, result](Result<bool> put) mutable {
                if (put.error)
                    log_event(LogLevel::Warn, "sandbox message not put in its account's inbox",
                              {{"message_id", make_record_id(kMessagePrefix, result.value.ref)},
                               {"error", put.error->message}});
                answer(std::move(result));
            });
    };
}

// The store creates the verification; a send not created takes back its counts.
void create(const ExchangePtr& exchange, const NewVerification& created,
            const std::optional<Idempotency>& key, const GuardStatePtr& guard,
            const Then<Verification>& answer) {
    Then<Verification> respond = count_created(exchange, answer);
    exchange->counting().send(
        exchange->caller, created, key ? &*key : nullptr,
        [exchange, guard, respond = std::move(respond)](Result<Verification> result) {
            if (guard && (result.error || result.replayed))
                exchange->services.store.release(guard->send, guard->counted_at_ms,
                                                 guard->clients_counted);
            respond(std::move(result));
        });
}

// A refusal decided before the send: recorded under the Idempotency-Key by the send's
// own script, which replays instead an answer recorded there already (a retry of a send
// that was created).
void refuse_decided(const ExchangePtr& exchange, NewVerification created,
                    const std::optional<Idempotency>& key, ApiError error, std::string encoded,
                    const std::string& rule, const Then<Verification>& answer) {
    exchange->services.metrics.count_send_refusal(rule, created.verification.country);
    if (!key) return exchange->refuse(std::move(error));
    created.refusal = std::move(encoded);
    exchange->counting().send(exchange->caller, created, &*key, count_created(exchange, answer));
}

void refuse_paused(const ExchangePtr& exchange, const NewVerification& created,
                   const std::optional<Idempotency>& key, const GuardVerdict& verdict,
                   const Then<Verification>& answer) {
    refuse_decided(exchange, created, key, paused_refusal(verdict.target),
                   "4032 0 " + verdict.target, verdict.reason, answer);
}

void refuse_client(const ExchangePtr& exchange, const NewVerification& created,
                   const std::optional<Idempotency>& key, const ClientVerdict& client,
                   const Then<Verification>& answer) {
    refuse_decided(exchange, created, key, client_refusal(client.field, client.retry_after),
                   "4045 " + std::to_string(client.retry_after) + " " + client.field, client.field,
                   answer);
}

// §10.2 after the guard admitted the send (the checks' order is §10's: a client over
// its limit is told so first, so a send the guard refuses still looks at the limits).
void limit_clients(const ExchangePtr& exchange, const NewVerification& created,
                   const std::optional<Idempotency>& key, const GuardStatePtr& guard,
                   const Then<Verification>& answer) {
    Store& store = exchange->services.store;
    store.limit_clients(guard->send, true, [=, &store](Result<ClientVerdict> client) {
        exchange->guarded([&] {
            if (client.error || client.value.over)
                store.release(guard->send, guard->counted_at_ms, false);
            if (client.error) return exchange->refuse(*client.error);
            if (client.value.over)
                return refuse_client(exchange, created, key, client.value, answer);
            guard->clients_counted = true;
            create(exchange, created, key, guard, answer);
        });
    });
}

void on_verdict(const ExchangePtr& exchange, NewVerification created,
                const std::optional<Idempotency>& key, const GuardStatePtr& guard,
                const GuardVerdict& verdict, const Then<Verification>& answer) {
    ApiServices& services = exchange->services;
    for (const Pause& change : verdict.changes)
        report_pause(change, exchange->caller.account, exchange->caller.sandbox, services.metrics);
    if (verdict.verdict == "safe") return create(exchange, created, key, nullptr, answer);
    if (verdict.verdict == "refused") {
        if (guard->send.clients.empty())
            return refuse_paused(exchange, created, key, verdict, answer);
        return services.store.limit_clients(guard->send, false, [=](Result<ClientVerdict> client) {
            exchange->guarded([&] {
                if (client.ok() && client.value.over)
                    return refuse_client(exchange, created, key, client.value, answer);
                refuse_paused(exchange, created, key, verdict, answer);
            });
        });
    }
    if (verdict.verdict == "monitored")
        services.metrics.count_monitored_send(verdict.reason, created.verification.country);
    guard->counted_at_ms = verdict.counted_at_ms;
    created.guarded_at_ms = verdict.counted_at_ms;
    if (guard->send.clients.empty()) return create(exchange, created, key, guard, answer);
    limit_clients(exchange, created, key, guard, answer);
}

// The guard and the client limits, then the send; straight to the send when neither
// applies (the guard is off for the account and the send names no client).
void guard_and_create(const ExchangePtr& exchange, const SendRequest& send,
                      const NewVerification& created, const std::optional<Idempotency>& key,
                      const Then<Verification>& answer) {
    const Credentials& credentials = *exchange->credentials;
    const GuardMode mode = credentials.policy.rules_for(exchange->caller.account).fraud_guard;
    const bool names_client = !send.client_network.empty() || !send.client_id.empty();
    if ((mode == GuardMode::Off && !names_client) || !credentials.number_key)
        return create(exchange, created, key, nullptr, answer);
    const Verification& v = created.verification;
    auto guard = std::make_shared<GuardState>();
    guard->send = guarded_send(*credentials.number_key, exchange->caller, mode, v.to, v.country,
                               v.ref.tag, v.ref.suffix, send.client_network, send.client_id,
                               exchange->services.settings.fraud);
    exchange->services.store.admit(
        guard->send, [exchange, created, key, guard, answer](Result<GuardVerdict> verdict) {
            exchange->guarded([&] {
                if (verdict.error) return exchange->refuse(*verdict.error);
                on_verdict(exchange, created, key, guard, verdict.value, answer);
            });
        });
}

}  // namespace

void send_verification(const HttpRequest& request, const std::string&,
                       const ExchangePtr& exchange) {
    auto body = parse_json_body(request);
    if (body.error) return exchange->refuse_final(*body.error);
    auto parsed = parse_send_request(body.value, exchange->services.settings);
    if (parsed.error) return exchange->refuse_final(*parsed.error);
    exchange->caller.sandbox = !exchange->live_key || parsed.value.sandbox;
    send_parsed(exchange, parsed.value,
                exchange->respond_with<Verification>([](Exchange& x, const Verification& stored) {
                    return x.ok(201,
                                verification_json(stored, false, x.services.settings.app_name));
                }));
}

void send_parsed(const ExchangePtr& exchange, const SendRequest& send, Then<Verification> answer) {
    const ApiSettings& settings = exchange->services.settings;
    auto tag = exchange->tag_of_number(send.to);
    if (tag.error) return exchange->refuse_final(*tag.error);
    const std::string region = exchange->services.phones.region_of(send.to);
    if (auto refused =
            exchange->credentials->policy.refusal(exchange->caller.account, send.to, region)) {
        exchange->services.metrics.count_send_refusal(refused->rule, region);
        return exchange->refuse_final(
            make_field_error(ErrorCode::DestinationBlocked, "to", refused->problem));
    }
    if (!exchange->caller.sandbox && !settings.live_delivery)
        return exchange->refuse(make_unavailable(
            ErrorCode::ProviderError,
            "No delivery provider is configured for live sends (VERIFYD_PROVIDER).", 30));

    NewVerification created = new_verification(send, tag.value, region, *exchange);
    exchange->idempotently([exchange, send, created, answer](const Idempotency* idempotency) {
        // Copied: the guard's calls answer after this step has returned.
        std::optional<Idempotency> key;
        if (idempotency) key = *idempotency;
        guard_and_create(exchange, send, created, key, answer);
    });
}

}  // namespace verifyd
