// Providers' receipts, signed as each provider documents (receipts.hpp).
#include "support/receipts.hpp"

#include <sodium.h>

#include <chrono>
#include <stdexcept>

#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/test_keys.hpp"

namespace verifyd_test {
namespace {

std::string base64(const unsigned char* bytes, size_t size) {
    std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);
    return out;
}

std::string secret_bytes(const std::string& whsec_secret) {
    const std::string encoded = whsec_secret.substr(std::string("whsec_").size());
    std::string out(encoded.size(), '\0');
    size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), encoded.data(),
                          encoded.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        throw std::runtime_error("not a whsec_ secret: " + whsec_secret);
    out.resize(length);
    return out;
}

HttpResponse post_signed(int port, const std::string& path, const std::string& body,
                         const Headers& signature) {
    HttpClient client(port, std::chrono::seconds(10));
    Headers headers = signature;
    headers.emplace_back("Content-Type", "application/json");
    return client.post(path, headers, body);
}

}  // namespace

int64_t unix_now() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string new_sent_webhook_secret() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    return "whsec_" + base64(key, sizeof key);
}

nlohmann::json sent_status_event(const std::string& provider_message_id,
                                 const std::string& message_status, const std::string& channel,
                                 const std::string& error_code) {
    std::string sub_type = message_status;
    for (char& c : sub_type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    nlohmann::json event = {{"field", "message"},
                            {"sub_type", "message." + sub_type},
                            {"timestamp", "2026-12-06T10:10:42Z"},
                            {"payload",
                             {{"account_id", "7ba7b820-9dad-11d1-80b4-00c04fd430c8"},
                              {"message_id", provider_message_id},
                              {"message_status", message_status},
                              {"channel", channel},
                              {"inbound_number", "+1234567890"},
                              {"template_id", "9ba7b840-9dad-11d1-80b4-00c04fd430c8"}}}};
    if (!error_code.empty()) event["payload"]["error_code"] = error_code;
    return event;
}

Headers sent_signature_headers(const std::string& whsec_secret, const std::string& body,
                               int64_t unix_time) {
    const std::string webhook_id = "550e8400-e29b-41d4-a716-446655440000";
    const std::string timestamp = std::to_string(unix_time);
    const std::string key = secret_bytes(whsec_secret);
    const std::string content = webhook_id + "." + timestamp + "." + body;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(content.data()),
                                  content.size());
    crypto_auth_hmacsha256_final(&state, mac);
    return {{"x-webhook-id", webhook_id},
            {"x-webhook-timestamp", timestamp},
            {"x-webhook-signature", "v1," + base64(mac, sizeof mac)},
            {"x-webhook-event-type", "messages"}};
}

HttpResponse post_sent_receipt(int port, const std::string& whsec_secret,
                               const nlohmann::json& event, int clock_offset_seconds) {
    const std::string body = event.dump();
    return post_signed(
        port, "/webhooks/sent", body,
        sent_signature_headers(whsec_secret, body, unix_now() + clock_offset_seconds));
}

HttpResponse post_delivery_receipt(int port, const std::string& secret, const nlohmann::json& body,
                                   int clock_offset_seconds) {
    const std::string text = body.dump();
    const std::string timestamp = std::to_string(unix_now() + clock_offset_seconds);
    const std::string signature =
        "t=" + timestamp + ",v1=" + FakeProvider::hmac_sha256_hex(secret, timestamp + "." + text);
    return post_signed(port, "/webhooks/delivery", text, {{"X-Verifyd-Signature", signature}});
}

Settings sent_with_receipts(const FakeProvider& fake, const std::string& whsec,
                            const Settings& more) {
    return merged(merged(sent_provider(fake, "sent_key_" + random_hex(16)),
                         {{"VERIFYD_SENT_WEBHOOK_SECRET", whsec}}),
                  more);
}

std::string accepted_provider_id(const FakeProvider& fake, const std::string& idempotency_key) {
    for (const auto& request : fake.requests_with_key(idempotency_key))
        if (request.executed) return request.provider_message_id();
    return {};
}

}  // namespace verifyd_test
