// Providers: how one attempt to deliver one message is made (§7), and what became of
// it. `log` writes the message to the log (development only), `sent` calls the Sent
// platform's POST /v3/messages, `webhook` posts a signed event to the operator's URL.
// The parts live in service/delivery/: one file per provider, the libcurl transport,
// the reading of answers and the webhook's signature. Not for: retries, fallback or
// queueing, which the outbox decides from the result.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "verifyd/config.hpp"

namespace verifyd {

struct OutgoingMessage {
    std::string message_id;
    std::string verification_id;
    std::string to;
    std::string channel;  // the channel of this attempt: sms or whatsapp
    std::string locale;
    std::string template_name;
    nlohmann::json variables;     // "code", "app_name", "ttl_minutes" and the request's
    std::string body;             // rendered for the locale
    std::string idempotency_key;  // the same on every retry of this message on this channel
    int attempt = 1;
};

enum class DeliveryOutcome {
    Sent,     // the provider accepted it
    Retry,    // try again later: 429, 5xx, 409, a timeout or a connection failure
    Refused,  // the provider refused it for good: another 4xx
};

struct DeliveryResult {
    DeliveryOutcome outcome = DeliveryOutcome::Retry;
    std::string provider_message_id;  // when sent, if the provider said
    std::string error;                // when not sent: what the provider said, for people
    int retry_after_seconds = 0;      // the provider's Retry-After, 0 when none
    // For a refused WhatsApp message: why WhatsApp cannot take it, one of
    // recipient_not_capable, template_not_approved, channel_not_connected, provider_error.
    std::string whatsapp_refusal;
};

// A provider's delivery receipt for one message.
struct Receipt {
    std::string status;      // delivered or failed (anything else moves nothing)
    std::string channel;     // sms or whatsapp: the message it is about
    std::string error_code;  // failed: the provider's code, if it gave one
};

class Provider {
  public:
    virtual ~Provider() = default;
    virtual const char* name() const = 0;
    virtual DeliveryResult deliver(const OutgoingMessage& message) = 0;
};

// A provider for one delivery thread (providers keep connections and are not shared);
// nothing when the kind is None.
std::unique_ptr<Provider> make_provider(const ProviderSettings& settings);

// Turns a provider's HTTP answer into a result. `status` 0 means no answer (timeout,
// connection failure); `retry_after` is the Retry-After header's value if any; `code`,
// the message's code, is masked as "[code]" wherever the error text quotes it.
DeliveryResult classify_answer(long status, const std::string& body,
                               const std::optional<std::string>& retry_after,
                               const std::string& channel, const std::string& code = "");

// The X-Verifyd-Signature header value for a webhook body sent at `unix_time`:
// "t=<unix_time>,v1=<lowercase hex HMAC-SHA256(secret, "<unix_time>.<body>")>".
std::string webhook_signature(const std::string& secret, int64_t unix_time,
                              const std::string& body);

// A receiver's check: the signature is well formed, matches, and was made within
// `tolerance_seconds` of `now_unix` (either side), so a replayed request is refused.
bool verify_webhook_signature(const std::string& secret, const std::string& header,
                              const std::string& body, int64_t now_unix, int tolerance_seconds);

// A Sent receipt's check, as Sent documents its webhook signature: x-webhook-signature
// holds one or more space-separated "v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw
// body>")>", `key` the signing secret decoded (after its "whsec_"), `webhook_id` and
// `timestamp` the x-webhook-id and x-webhook-timestamp headers; the timestamp (unix
// seconds) must be within `tolerance_seconds` of `now_unix`.
bool verify_sent_signature(const std::string& key, const std::string& webhook_id,
                           const std::string& timestamp, const std::string& header,
                           const std::string& body, int64_t now_unix, int tolerance_seconds);

// Why WhatsApp did not take a message, from the provider's error code (Sent's,
// SendAPI's or the dashboard's name): recipient_not_capable, template_not_approved,
// channel_not_connected, or provider_error for any other.
std::string whatsapp_refusal_of(const std::string& error_code);

}  // namespace verifyd
