// POST /webhooks/sent and POST /webhooks/delivery: providers' delivery receipts. No API
// key: each is authenticated by its provider's signature over the raw body, within five
// minutes of its timestamp, and refused with 401 otherwise, before anything is read.
// A receipt is applied by one script call (lua/delivery/receipt.lua), idempotently, so a
// provider's retries and replays change nothing twice; one about a message verifyd does
// not know answers 200, so that the provider stops sending it.
#include <ctime>

#include "service/http/handlers.hpp"
#include "verifyd/delivery.hpp"
#include "verifyd/log.hpp"
#include "verifyd/requests.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

constexpr int kSignatureToleranceSeconds = 300;

ApiError not_configured(const std::string& what, const char* variable) {
    return make_error(ErrorCode::InvalidApiKey,
                      what + " are not accepted: " + variable + " is not set.");
}

ApiError signature_refused() {
    return make_error(ErrorCode::InvalidApiKey,
                      "The receipt's signature does not match, or its timestamp is more than "
                      "five minutes from now.");
}

int64_t unix_now() {
    return static_cast<int64_t>(std::time(nullptr));
}

// The answer to a receipt, once applied (or found to change nothing).
void answer_receipt(const ExchangePtr& exchange, const char* provider, const json& outcome) {
    exchange->services.metrics.count_receipt(provider, outcome.value("outcome", "ignored"));
    exchange->reply(exchange->ok(200, outcome));
}

Then<ReceiptOutcome> answer_applied(const ExchangePtr& exchange, const char* provider,
                                    const std::string& message_id) {
    return exchange->respond_with<ReceiptOutcome>(
        [provider, message_id](Exchange& x, const ReceiptOutcome& applied) {
            x.services.metrics.count_applied_receipt(provider, applied.outcome, applied.channel,
                                                     applied.latency_ms, applied.detail);
            log_event(LogLevel::Info, "receipt",
                      {{"provider", provider},
                       {"message_id", message_id},
                       {"outcome", applied.outcome},
                       {"detail", applied.detail}});
            json data = {{"received", true}, {"outcome", applied.outcome}};
            return x.ok(200, data);
        });
}

}  // namespace

void sent_receipt(const HttpRequest& request, const std::string&, const ExchangePtr& exchange) {
    const std::string& key = exchange->services.settings.sent_webhook_key;
    if (key.empty())
        return exchange->refuse(
            not_configured("Receipts from Sent", "VERIFYD_SENT_WEBHOOK_SECRET"));
    const auto id = request.header("x-webhook-id");
    const auto timestamp = request.header("x-webhook-timestamp");
    const auto signature = request.header("x-webhook-signature");
    if (!id || !timestamp || !signature)
        return exchange->refuse(make_error(
            ErrorCode::MissingApiKey,
            "A receipt needs x-webhook-id, x-webhook-timestamp and x-webhook-signature."));
    if (!verify_sent_signature(key, *id, *timestamp, *signature, request.body, unix_now(),
                               kSignatureToleranceSeconds))
        return exchange->refuse(signature_refused());

    auto body = parse_json_body(request);
    if (body.error) return exchange->refuse(*body.error);
    const SentReceipt said = read_sent_receipt(body.value);
    if (said.move == SentReceipt::Move::Unknown)
        log_event(LogLevel::Warn, "receipt with an unknown status",
                  {{"provider", "sent"},
                   {"provider_message_id", said.provider_message_id},
                   {"status", said.status}});
    if (said.provider_message_id.empty() || said.move == SentReceipt::Move::None ||
        said.move == SentReceipt::Move::Unknown)
        return answer_receipt(exchange, "sent", {{"received", true}, {"outcome", "ignored"}});
    Receipt receipt;
    receipt.status = said.move == SentReceipt::Move::Deliver ? "delivered" : "failed";
    receipt.error_code = said.error_code;
    exchange->services.store.apply_provider_receipt(
        said.provider_message_id, receipt,
        answer_applied(exchange, "sent", said.provider_message_id));
}

void delivery_receipt(const HttpRequest& request, const std::string&, const ExchangePtr& exchange) {
    const std::string& secret = exchange->services.settings.webhook_secret;
    if (secret.empty())
        return exchange->refuse(not_configured("Delivery receipts", "VERIFYD_WEBHOOK_SECRET"));
    const auto signature = request.header("X-Verifyd-Signature");
    if (!signature)
        return exchange->refuse(
            make_error(ErrorCode::MissingApiKey, "A receipt needs an X-Verifyd-Signature."));
    if (!verify_webhook_signature(secret, *signature, request.body, unix_now(),
                                  kSignatureToleranceSeconds))
        return exchange->refuse(signature_refused());

    auto body = parse_json_body(request);
    if (body.error) return exchange->refuse(*body.error);
    auto receipt = parse_delivery_receipt(body.value);
    if (receipt.error) return exchange->refuse(*receipt.error);
    const std::string message_id = body.value["message_id"];
    auto ref = record_ref_of(message_id, kMessagePrefix);
    if (ref.error)
        return answer_receipt(exchange, "webhook", {{"received", true}, {"outcome", "unknown"}});
    exchange->services.store.apply_receipt(job_ref(ref.value), receipt.value,
                                           answer_applied(exchange, "webhook", message_id));
}

}  // namespace verifyd
