// Delivery receipts as providers send them to verifyd: the Sent platform's status
// webhooks (POST /webhooks/sent), signed as Sent documents its webhook signature, and
// the webhook provider's receipts (POST /webhooks/delivery), signed like verifyd's own
// webhook. The signatures are computed here with libsodium, not with verifyd's code, so
// a test proves verifyd checks what the provider really sends. Not for: the messages'
// sending side (fake_provider.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "support/fake_provider.hpp"
#include "support/http_client.hpp"
#include "support/verifyd_instance.hpp"

namespace verifyd_test {

// A signing secret as Sent's dashboard shows it: "whsec_" and base64 of 32 random bytes.
std::string new_sent_webhook_secret();

// The body Sent posts when a message's status changes: {"field": "message", "sub_type",
// "timestamp", "payload": {"message_id", "message_status", "channel", …}}, with
// payload.error_code when `error_code` is given.
nlohmann::json sent_status_event(const std::string& provider_message_id,
                                 const std::string& message_status, const std::string& channel,
                                 const std::string& error_code = "");

// x-webhook-id, x-webhook-timestamp and x-webhook-signature ("v1,<base64 HMAC-SHA256 of
// "<id>.<timestamp>.<body>" under the secret's decoded bytes>") for `body` at `unix_time`.
Headers sent_signature_headers(const std::string& whsec_secret, const std::string& body,
                               int64_t unix_time);

// Posts a Sent receipt to verifyd on `port`, signed with `whsec_secret` as of now plus
// `clock_offset_seconds`, on a connection of its own.
HttpResponse post_sent_receipt(int port, const std::string& whsec_secret,
                               const nlohmann::json& event, int clock_offset_seconds = 0);

// Posts a webhook provider's receipt to verifyd on `port`, X-Verifyd-Signature signed
// with `secret` as of now plus `clock_offset_seconds`.
HttpResponse post_delivery_receipt(int port, const std::string& secret, const nlohmann::json& body,
                                   int clock_offset_seconds = 0);

int64_t unix_now();

// verifyd delivering through `fake` as the Sent API and taking Sent's receipts signed with
// `whsec` (plus delivery_support.hpp's fast_delivery and `more`).
Settings sent_with_receipts(const FakeProvider& fake, const std::string& whsec,
                            const Settings& more = {});

// The id the fake Sent API gave the message it executed under `idempotency_key`; empty
// while there is none.
std::string accepted_provider_id(const FakeProvider& fake, const std::string& idempotency_key);

}  // namespace verifyd_test
