// Covers delivery.hpp without a network: classify_answer (a provider's HTTP answer to a
// result), the webhook signature and its check, Sent's receipt signature, the WhatsApp
// reasons of providers' error codes, and make_provider for each kind (the log provider's
// lines too).
// Not for: the sent and webhook providers on the wire (the integration tests' fake provider).
#include "verifyd/delivery.hpp"

#include <sodium.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/captured_stderr.hpp"
#include "support/text.hpp"
#include "verifyd/crypto.hpp"

using nlohmann::json;
using verifyd::classify_answer;
using verifyd::DeliveryOutcome;
using verifyd::DeliveryResult;
using verifyd::verify_webhook_signature;
using verifyd::webhook_signature;
using verifyd_test::contains;

namespace {

const std::optional<std::string> kNoRetryAfter;

std::string sent_error(const json& code, const std::string& message) {
    return json{{"success", false}, {"error", {{"code", code}, {"message", message}}}}.dump();
}

DeliveryResult whatsapp_refusal_of(long status, const std::string& body) {
    return classify_answer(status, body, kNoRetryAfter, "whatsapp");
}

std::string http_date(time_t when) {
    char text[64];
    std::tm parts{};
    gmtime_r(&when, &parts);
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
    return text;
}

std::string to_hex(const unsigned char* bytes, size_t size) {
    std::string hex(size * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), bytes, size);
    hex.pop_back();
    return hex;
}

// HMAC-SHA256 of "<t>.<body>" made here, apart from service/delivery/signing.cpp: the
// one-shot function when the key is crypto_auth_hmacsha256_KEYBYTES long (the only length
// it takes), else init/update/final over the whole message at once.
std::string expected_signature_hex(const std::string& secret, const std::string& t,
                                   const std::string& body) {
    const std::string message = t + "." + body;
    const auto* data = reinterpret_cast<const unsigned char*>(message.data());
    const auto* key = reinterpret_cast<const unsigned char*>(secret.data());
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    if (secret.size() == crypto_auth_hmacsha256_KEYBYTES) {
        crypto_auth_hmacsha256(mac, data, message.size(), key);
    } else {
        crypto_auth_hmacsha256_state state;
        crypto_auth_hmacsha256_init(&state, key, secret.size());
        crypto_auth_hmacsha256_update(&state, data, message.size());
        crypto_auth_hmacsha256_final(&state, mac);
    }
    return to_hex(mac, sizeof mac);
}

constexpr int64_t kSignedAt = 1700000000;
const std::string kSecret = "whsec_example";
const std::string kEventBody = R"({"type":"verification.message","message_id":"msg_1"})";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("a 2xx answer is sent") {
    for (long status : {200L, 201L, 202L, 204L}) {
        INFO(status);
        const DeliveryResult result = classify_answer(status, "", kNoRetryAfter, "sms");
        CHECK(result.outcome == DeliveryOutcome::Sent);
        CHECK(result.error.empty());
        CHECK(result.provider_message_id.empty());
        CHECK(result.whatsapp_refusal.empty());
    }
}

TEST_CASE("the provider's message id is read from each shape of success body") {
    const std::pair<std::string, std::string> cases[] = {
        {R"({"success":true,"data":{"id":"sent_1","status":"QUEUED"}})", "sent_1"},
        {R"({"data":{"messages":[{"id":"sent_2"},{"id":"sent_3"}]}})", "sent_2"},
        {R"({"id":"sent_4"})", "sent_4"},
        {R"({"message_id":"sent_5"})", "sent_5"},
        {R"({"data":{"id":12345}})", "12345"},
        {R"({"data":{"id":"sent_6","messages":[{"id":"sent_7"}]},"id":"sent_8"})", "sent_6"},
        {R"({"data":{"messages":[{"id":"sent_7"}]},"id":"sent_8"})", "sent_7"},
        {R"({"id":"sent_8","message_id":"sent_9"})", "sent_8"},
        {R"({"data":{"id":""},"id":"sent_10"})", "sent_10"},
    };
    for (const auto& [body, id] : cases) {
        INFO(body);
        const DeliveryResult result = classify_answer(201, body, kNoRetryAfter, "sms");
        CHECK(result.outcome == DeliveryOutcome::Sent);
        CHECK(result.provider_message_id == id);
    }
}

TEST_CASE("a success body without an id, or not JSON, leaves the provider id empty") {
    for (const std::string body : {"", "OK", "[]", R"({"data":{"messages":[]}})",
                                   R"({"data":{"id":null}})", R"({"data":[{"id":"x"}]})"}) {
        INFO(body);
        const DeliveryResult result = classify_answer(200, body, kNoRetryAfter, "sms");
        CHECK(result.outcome == DeliveryOutcome::Sent);
        CHECK(result.provider_message_id.empty());
    }
}

TEST_CASE("429, 409, 408, every 5xx and no answer at all are retried") {
    for (long status : {429L, 409L, 408L, 500L, 502L, 503L, 504L, 599L, 0L}) {
        INFO(status);
        const DeliveryResult result =
            classify_answer(status, sent_error("INTERNAL_001", "x"), kNoRetryAfter, "whatsapp");
        CHECK(result.outcome == DeliveryOutcome::Retry);
        CHECK_FALSE(result.error.empty());
        CHECK(result.whatsapp_refusal.empty());
        CHECK(result.retry_after_seconds == 0);
    }
}

TEST_CASE("a retried answer says what the provider said") {
    const DeliveryResult busy = classify_answer(
        409, sent_error("CONFLICT_001", "Concurrent idempotent request in progress"), kNoRetryAfter,
        "sms");
    CHECK(busy.error == "HTTP 409: Concurrent idempotent request in progress (CONFLICT_001)");
    CHECK(classify_answer(503, "", kNoRetryAfter, "sms").error == "HTTP 503");
    CHECK(contains(classify_answer(0, "", kNoRetryAfter, "sms").error, "no answer"));
}

TEST_CASE("Retry-After in seconds is the wait of a retried answer") {
    CHECK(classify_answer(429, "", std::string("120"), "sms").retry_after_seconds == 120);
    CHECK(classify_answer(503, "", std::string(" 7 "), "sms").retry_after_seconds == 7);
    CHECK(classify_answer(429, "", std::string("0"), "sms").retry_after_seconds == 0);
}

TEST_CASE("an absurd Retry-After is capped at a day") {
    CHECK(classify_answer(429, "", std::string("9999999999999"), "sms").retry_after_seconds ==
          86400);
    CHECK(classify_answer(429, "", std::string("100000"), "sms").retry_after_seconds == 86400);
}

TEST_CASE("Retry-After as an HTTP-date is the seconds from now until then") {
    const time_t now = std::time(nullptr);
    const int wait = classify_answer(503, "", http_date(now + 120), "sms").retry_after_seconds;
    CHECK(wait >= 115);
    CHECK(wait <= 120);
}

TEST_CASE("Retry-After as an HTTP-date in the past is a wait of one second") {
    const time_t now = std::time(nullptr);
    CHECK(classify_answer(429, "", http_date(now - 3600), "sms").retry_after_seconds == 1);
    CHECK(classify_answer(429, "", std::string("Wed, 21 Oct 2015 07:28:00 GMT"), "sms")
              .retry_after_seconds == 1);
}

TEST_CASE("a Retry-After that is neither seconds nor a date is no wait") {
    for (const std::string value : {"", "  ", "soon", "-5", "1.5", "12:00", "5 seconds"}) {
        INFO("'" << value << "'");
        const DeliveryResult result = classify_answer(429, "", value, "sms");
        CHECK(result.outcome == DeliveryOutcome::Retry);
        CHECK(result.retry_after_seconds == 0);
    }
}

TEST_CASE("another 4xx is refused for good") {
    for (long status : {400L, 401L, 402L, 403L, 404L, 410L, 413L, 422L, 499L}) {
        INFO(status);
        const DeliveryResult result = classify_answer(status, "", std::string("30"), "sms");
        CHECK(result.outcome == DeliveryOutcome::Refused);
        CHECK(result.retry_after_seconds == 0);
    }
}

TEST_CASE("a refusal says the provider's error message and code") {
    const DeliveryResult result = classify_answer(
        401, sent_error("AUTH_002", "Invalid or expired API key"), kNoRetryAfter, "sms");
    CHECK(result.error == "HTTP 401: Invalid or expired API key (AUTH_002)");
}

TEST_CASE("a refusal says what it can of other error shapes") {
    CHECK(classify_answer(403, "Forbidden", kNoRetryAfter, "sms").error == "HTTP 403");
    CHECK(classify_answer(404, R"({"message":"nope"})", kNoRetryAfter, "sms").error == "HTTP 404");
    CHECK(classify_answer(400, R"({"error":"bad_request"})", kNoRetryAfter, "sms").error ==
          "HTTP 400: bad_request");
    CHECK(classify_answer(422, R"({"error":{"code":4005,"type":"invalid_template"}})",
                          kNoRetryAfter, "sms")
              .error == "HTTP 422: invalid_template (4005)");
    CHECK(
        classify_answer(422, R"({"error":{"code":"BUSINESS_003"}})", kNoRetryAfter, "sms").error ==
        "HTTP 422: BUSINESS_003");
}

TEST_CASE("a refusal's text leaves out the details a provider echoes from the request") {
    const std::string body = R"({"success":false,"error":{"code":"VALIDATION_001",
        "message":"Request validation failed",
        "details":{"template":["parameter code=004217 is not allowed"]}}})";
    const DeliveryResult result = classify_answer(400, body, kNoRetryAfter, "sms");
    CHECK(result.error == "HTTP 400: Request validation failed (VALIDATION_001)");
    CHECK_FALSE(contains(result.error, "004217"));
}

TEST_CASE("a refusal's text has no control characters and is kept short") {
    const DeliveryResult result = classify_answer(
        400, sent_error("X", "line one\nline two\r\x1b[31m" + std::string(5000, 'a')),
        kNoRetryAfter, "sms");
    CHECK(contains(result.error, "line one line two"));
    CHECK_FALSE(contains(result.error, "\n"));
    CHECK_FALSE(contains(result.error, "\x1b"));
    CHECK(result.error.size() < 400);
}

TEST_CASE("a code the provider quotes is masked, even where the text is cut through it") {
    const std::string code = "739184";
    CHECK(classify_answer(400, sent_error("X", "code " + code + " refused"), kNoRetryAfter, "sms",
                          code)
              .error == "HTTP 400: code [code] refused (X)");
    // "HTTP 400: " is 10 bytes: these paddings start the code from 5 bytes before the cut at
    // byte 300 to 1 byte before it, so that the cut would keep 5 down to 1 of its digits.
    for (size_t start = 295; start < 300; ++start) {
        const std::string message =
            std::string(start - 10, 'a') + code + std::string(100, 'b') + " " + code;
        const std::string text =
            classify_answer(400, sent_error("X", message), kNoRetryAfter, "sms", code).error;
        INFO("code from byte " << start << ": " << text);
        CHECK(text.size() <= 303);
        CHECK(text.find_first_of("0123456789", 10) == std::string::npos);
    }
}

TEST_CASE("a shortened refusal text does not split a UTF-8 character") {
    std::string accents;
    for (int i = 0; i < 1000; ++i) accents += "é";
    // Two paddings put the cut on either byte of a two-byte character.
    for (const std::string padding : {"", "a"}) {
        const std::string text =
            classify_answer(400, sent_error("X", padding + accents), kNoRetryAfter, "sms").error;
        INFO(text);
        CHECK(text.size() < 400);
        CHECK_NOTHROW(json(text).dump());
    }
}

TEST_CASE("a refused SMS has no WhatsApp reason") {
    const DeliveryResult result =
        classify_answer(422, sent_error("BUSINESS_007", "Channel not available for this contact"),
                        kNoRetryAfter, "sms");
    CHECK(result.outcome == DeliveryOutcome::Refused);
    CHECK(result.whatsapp_refusal.empty());
}

TEST_CASE("a WhatsApp template that is not approved is template_not_approved, in every form") {
    const std::string bodies[] = {
        sent_error("BUSINESS_005", "Template not approved for sending"),
        sent_error("TEMPLATE_NOT_APPROVED", "Template pending or rejected"),
        sent_error("template_not_approved", ""),
        sent_error(4005, "Template ID not found or template is not approved"),
        sent_error("4005", ""),
        R"({"error":{"code":4005,"type":"invalid_template","message":"m"}})",
        R"({"error":{"type":"INVALID_TEMPLATE"}})",
        R"({"error":"invalid_template"})",
    };
    for (const std::string& body : bodies) {
        INFO(body);
        const DeliveryResult result = whatsapp_refusal_of(422, body);
        CHECK(result.outcome == DeliveryOutcome::Refused);
        CHECK(result.whatsapp_refusal == "template_not_approved");
    }
}

TEST_CASE("a recipient without WhatsApp is recipient_not_capable, in every form") {
    const std::string bodies[] = {
        sent_error("BUSINESS_007", "Channel not available for this contact"),
        sent_error("CHANNEL_UNAVAILABLE", "WhatsApp not detected for recipient"),
        sent_error("channel_unavailable", ""),
        sent_error("recipient_not_capable", ""),
        R"({"error":{"code":"x","type":"RECIPIENT_NOT_CAPABLE"}})",
    };
    for (const std::string& body : bodies) {
        INFO(body);
        CHECK(whatsapp_refusal_of(422, body).whatsapp_refusal == "recipient_not_capable");
    }
}

TEST_CASE("a WhatsApp channel that is not connected is channel_not_connected, in every form") {
    const std::string bodies[] = {
        sent_error(4003, "Session exists but is not connected"),
        sent_error("4003", ""),
        sent_error("session_not_connected", ""),
        sent_error("CHANNEL_NOT_CONNECTED", ""),
        sent_error("channel_not_connected", ""),
        R"({"error":{"code":4003,"type":"session_not_connected","message":"m"}})",
    };
    for (const std::string& body : bodies) {
        INFO(body);
        CHECK(whatsapp_refusal_of(400, body).whatsapp_refusal == "channel_not_connected");
    }
}

TEST_CASE("any other WhatsApp refusal is provider_error") {
    const std::string bodies[] = {
        sent_error("BUSINESS_003", "Insufficient account balance"),
        sent_error("AUTH_002", "Invalid or expired API key"),
        sent_error(4001, "invalid phone"),
        sent_error("BUSINESS_0050", ""),
        sent_error(40050, ""),
        R"({"error":{"message":"Template not approved for sending"}})",
        R"({"error":{"code":4005.0}})",
        "Bad Request",
        "",
    };
    for (const std::string& body : bodies) {
        INFO(body);
        const DeliveryResult result = whatsapp_refusal_of(422, body);
        CHECK(result.outcome == DeliveryOutcome::Refused);
        CHECK(result.whatsapp_refusal == "provider_error");
    }
}

TEST_CASE("a retried WhatsApp answer has no WhatsApp reason") {
    const DeliveryResult result = whatsapp_refusal_of(429, sent_error("BUSINESS_007", "x"));
    CHECK(result.outcome == DeliveryOutcome::Retry);
    CHECK(result.whatsapp_refusal.empty());
}

TEST_CASE("a webhook signature is t=<time>,v1=<lowercase hex HMAC-SHA256 of time.body>") {
    // Made with Python's hmac module, apart from libsodium.
    CHECK(webhook_signature(kSecret, kSignedAt, kEventBody) ==
          "t=1700000000,v1=9fd1ce90135ba009f4c6578d29a3f4ac0364df7b4d2e45735e1991b609afa5fb");
    CHECK(webhook_signature("", kSignedAt, kEventBody) ==
          "t=1700000000,v1=8cc569dc52c6964357dafa998298282dda7925b2d19806bede5559e9b3218eee");
}

TEST_CASE("a webhook signature matches HMAC-SHA256 computed separately, for any secret length") {
    const std::string secrets[] = {kSecret, std::string(32, 'k'), std::string(100, 's'), "x"};
    for (const std::string& secret : secrets) {
        INFO(secret.size() << "-byte secret");
        CHECK(webhook_signature(secret, kSignedAt, kEventBody) ==
              "t=1700000000,v1=" + expected_signature_hex(secret, "1700000000", kEventBody));
    }
}

TEST_CASE("a signature is checked as valid with its secret, body and time") {
    const std::string header = webhook_signature(kSecret, kSignedAt, kEventBody);
    CHECK(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt, 300));
    CHECK(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt + 300, 300));
    CHECK(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt - 300, 300));
}

TEST_CASE("a signature over a changed body is refused") {
    const std::string header = webhook_signature(kSecret, kSignedAt, kEventBody);
    std::string tampered = kEventBody;
    tampered[tampered.size() - 3] = '2';
    CHECK_FALSE(verify_webhook_signature(kSecret, header, tampered, kSignedAt, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody + " ", kSignedAt, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret, header, "", kSignedAt, 300));
}

TEST_CASE("a signature made with another secret is refused") {
    const std::string header = webhook_signature("another secret", kSignedAt, kEventBody);
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret + "x",
                                         webhook_signature(kSecret, kSignedAt, kEventBody),
                                         kEventBody, kSignedAt, 300));
}

TEST_CASE("a signature outside the tolerance is refused on either side") {
    const std::string header = webhook_signature(kSecret, kSignedAt, kEventBody);
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt + 301, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt - 301, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, 0, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, INT64_MIN, 300));
    CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt, -1));
}

TEST_CASE("a signature whose time was changed is refused") {
    const std::string header = webhook_signature(kSecret, kSignedAt, kEventBody);
    const std::string moved = "t=1700000100" + header.substr(header.find(','));
    CHECK_FALSE(verify_webhook_signature(kSecret, moved, kEventBody, kSignedAt + 100, 300));
}

TEST_CASE("a malformed signature header is refused") {
    const std::string mac = expected_signature_hex(kSecret, "1700000000", kEventBody);
    const std::string headers[] = {
        "",
        "garbage",
        "t=1700000000",
        "v1=" + mac,
        "t=,v1=" + mac,
        "t=abc,v1=" + mac,
        "t=-1700000000,v1=" + mac,
        "t=1700000000.0,v1=" + mac,
        "t=1700000000,v1=",
        "t=1700000000,v1=" + mac.substr(1),
        "t=1700000000,v1=" + mac + "0",
        "t=1700000000,v1=" + std::string(64, 'z'),
        "t=1700000000,t=1700000000,v1=" + mac,
        "t=1700000000,v1=" + mac + ",",
        "t=1700000000,=x,v1=" + mac,
        "t=1700000000;v1=" + mac,
    };
    for (const std::string& header : headers) {
        INFO(header);
        CHECK_FALSE(verify_webhook_signature(kSecret, header, kEventBody, kSignedAt, 300));
    }
}

TEST_CASE("a signature header may carry other schemes and several v1 signatures") {
    const std::string mac = expected_signature_hex(kSecret, "1700000000", kEventBody);
    const std::string old_mac = expected_signature_hex("old secret", "1700000000", kEventBody);
    CHECK(verify_webhook_signature(kSecret, "t=1700000000, v1=" + mac, kEventBody, kSignedAt, 300));
    CHECK(verify_webhook_signature(kSecret, "v1=" + mac + ",t=1700000000", kEventBody, kSignedAt,
                                   300));
    CHECK(verify_webhook_signature(kSecret, "t=1700000000,v1=" + old_mac + ",v1=" + mac, kEventBody,
                                   kSignedAt, 300));
    CHECK(verify_webhook_signature(kSecret, "t=1700000000,v1=" + mac + ",v1=" + old_mac, kEventBody,
                                   kSignedAt, 300));
    CHECK(verify_webhook_signature(kSecret, "t=1700000000,v2=abc,v1=" + mac, kEventBody, kSignedAt,
                                   300));
    CHECK_FALSE(verify_webhook_signature(kSecret, "t=1700000000,v1=" + old_mac, kEventBody,
                                         kSignedAt, 300));
}

TEST_CASE("no provider is made when none is configured") {
    verifyd::Config config;
    config.provider = verifyd::ProviderKind::None;
    CHECK(verifyd::make_provider(verifyd::provider_settings(config)) == nullptr);
}

TEST_CASE("the configured provider is made by its kind") {
    verifyd::Config config;
    config.sent.base_url = "http://127.0.0.1:9/";
    config.webhook.url = "http://127.0.0.1:9/hook";
    config.provider = verifyd::ProviderKind::Sent;
    CHECK(std::string(verifyd::make_provider(verifyd::provider_settings(config))->name()) ==
          "sent");
    config.provider = verifyd::ProviderKind::Webhook;
    CHECK(std::string(verifyd::make_provider(verifyd::provider_settings(config))->name()) ==
          "webhook");
}

// The only test case that makes log providers, so that the first one of the process is here.
TEST_CASE("the log provider warns once, then writes one JSON line per message, and it is sent") {
    verifyd::Config config;
    config.provider = verifyd::ProviderKind::Log;
    verifyd::OutgoingMessage message;
    message.message_id = "msg_1";
    message.verification_id = "vrf_1";
    message.to = "+14155552671";
    message.channel = "whatsapp";
    message.locale = "pt-BR";
    message.template_name = "login";
    message.variables = {{"code", "004217"}, {"app_name", "Acme"}, {"ttl_minutes", 10}};
    message.body = "Seu código de verificação Acme é 004217.";

    verifyd_test::CapturedStderr captured;
    auto provider = verifyd::make_provider(verifyd::provider_settings(config));
    auto second = verifyd::make_provider(verifyd::provider_settings(config));
    REQUIRE(provider != nullptr);
    REQUIRE(second != nullptr);
    const DeliveryResult result = provider->deliver(message);
    const std::vector<std::string> lines = lines_of(captured.text());

    CHECK(std::string(provider->name()) == "log");
    CHECK(result.outcome == DeliveryOutcome::Sent);
    REQUIRE(lines.size() == 2);
    const json warning = json::parse(lines[0], nullptr, false);
    INFO(lines[0]);
    REQUIRE(warning.is_object());
    CHECK(warning["level"] == "warn");
    CHECK(contains(warning.value("msg", ""), "live codes"));
    const json line = json::parse(lines[1], nullptr, false);
    INFO(lines[1]);
    REQUIRE(line.is_object());
    CHECK(line["level"] == "warn");
    CHECK(line["msg"] == "log provider delivery (development only)");
    CHECK(line.contains("time"));
    CHECK(line["message_id"] == "msg_1");
    CHECK(line["verification_id"] == "vrf_1");
    CHECK(line["to"] == "+14155552671");
    CHECK(line["channel"] == "whatsapp");
    CHECK(line["locale"] == "pt-BR");
    CHECK(line["template"] == "login");
    CHECK(line["variables"]["code"] == "004217");
    CHECK(line["body"] == message.body);
}

namespace {

// Sent's own documentation's scheme, computed with Python's hmac and base64 modules:
// base64(HMAC-SHA256(base64-decode(secret after "whsec_"), "<id>.<timestamp>.<body>")).
const std::string kSentSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kSentWebhookId = "550e8400-e29b-41d4-a716-446655440000";
const std::string kSentBody =
    R"({"field":"message","payload":{"message_id":"m1","message_status":"DELIVERED"}})";
const std::string kSentSignature = "v1,KWVsNiJjdaC613RVSHwonQ1OWnZ24hBxgn2z/MTd1rc=";
constexpr int64_t kSentAt = 1705334531;

std::string sent_key() {
    return verifyd::decode_base64(kSentSecret.substr(6)).value_or("");
}

}  // namespace

TEST_CASE("a Sent receipt's signature is checked as Sent documents it") {
    CHECK(verifyd::verify_sent_signature(sent_key(), kSentWebhookId, "1705334531", kSentSignature,
                                         kSentBody, kSentAt, 300));
    // One of several space-separated signatures is enough (Sent rotating its secret).
    CHECK(verifyd::verify_sent_signature(sent_key(), kSentWebhookId, "1705334531",
                                         "v1,AAAA " + kSentSignature, kSentBody, kSentAt, 300));
}

TEST_CASE("a Sent receipt's signature fails for another body, id, timestamp, key or scheme") {
    const std::string key = sent_key();
    CHECK_FALSE(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334531", kSentSignature,
                                               kSentBody + " ", kSentAt, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key, "another-endpoint", "1705334531",
                                               kSentSignature, kSentBody, kSentAt, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334532", kSentSignature,
                                               kSentBody, kSentAt, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key + "x", kSentWebhookId, "1705334531",
                                               kSentSignature, kSentBody, kSentAt, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334531",
                                               "v2," + kSentSignature.substr(3), kSentBody, kSentAt,
                                               300));
    CHECK_FALSE(verifyd::verify_sent_signature("", kSentWebhookId, "1705334531", kSentSignature,
                                               kSentBody, kSentAt, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key, kSentWebhookId, "soon", kSentSignature,
                                               kSentBody, kSentAt, 300));
}

TEST_CASE("a Sent receipt signed more than the tolerance away from now is refused") {
    const std::string key = sent_key();
    CHECK(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334531", kSentSignature,
                                         kSentBody, kSentAt + 300, 300));
    CHECK(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334531", kSentSignature,
                                         kSentBody, kSentAt - 300, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334531", kSentSignature,
                                               kSentBody, kSentAt + 301, 300));
    CHECK_FALSE(verifyd::verify_sent_signature(key, kSentWebhookId, "1705334531", kSentSignature,
                                               kSentBody, kSentAt - 301, 300));
}

TEST_CASE("a provider's error code names the WhatsApp fallback reason") {
    CHECK(verifyd::whatsapp_refusal_of("CHANNEL_UNAVAILABLE") == "recipient_not_capable");
    CHECK(verifyd::whatsapp_refusal_of("TEMPLATE_NOT_APPROVED") == "template_not_approved");
    CHECK(verifyd::whatsapp_refusal_of("CHANNEL_NOT_CONNECTED") == "channel_not_connected");
    CHECK(verifyd::whatsapp_refusal_of("MESSAGE_FILTERED") == "provider_error");
    CHECK(verifyd::whatsapp_refusal_of("") == "provider_error");
}
