// POST /verify/send (§4): a new verification to a number the account's destination
// policy allows (§10.1), its code hashed (and, for a live one, sealed for the outbox)
// before the store creates it and its delivery job in one call.
#include "service/http/handlers.hpp"
#include "service/http/views.hpp"
#include "verifyd/crypto.hpp"
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
    return created;
}

}  // namespace

void send_verification(const HttpRequest& request, const std::string&,
                       const ExchangePtr& exchange) {
    const ApiSettings& settings = exchange->services.settings;
    auto body = parse_json_body(request.body);
    if (body.error) return exchange->refuse_final(*body.error);
    auto parsed = parse_send_request(body.value, settings);
    if (parsed.error) return exchange->refuse_final(*parsed.error);
    const SendRequest& send = parsed.value;
    exchange->caller.sandbox = !exchange->live_key || send.sandbox;

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
    exchange->idempotently([exchange, created](const Idempotency* idempotency) {
        exchange->counting().send(
            exchange->caller, created, idempotency,
            exchange->respond_with<Verification>([](Exchange& x, const Verification& stored) {
                if (!x.replayed) {
                    x.services.metrics.count_send(stored.sandbox, stored.channel);
                    x.services.metrics.count_verification("sent", stored.country);
                }
                return x.ok(201, verification_json(stored, false, x.services.settings.app_name));
            }));
    });
}

}  // namespace verifyd
