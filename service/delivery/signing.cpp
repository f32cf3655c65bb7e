// Webhook signatures: verifyd's own (X-Verifyd-Signature), which the webhook provider
// and the events send and a receiver checks, and Sent's (x-webhook-signature), which
// verifyd checks on Sent's receipts; each with its replay window. Not for: posting.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "verifyd/crypto.hpp"
#include "verifyd/delivery.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using Mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

// HMAC-SHA256 of `prefix` then `body`. init/update/final take a key of any length, so
// an operator's secret is used as is.
Mac hmac(const std::string& key, const std::string& prefix, const std::string& body) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()),
                                  prefix.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                  body.size());
    Mac mac;
    crypto_auth_hmacsha256_final(&state, mac.data());
    return mac;
}

Mac webhook_mac(const std::string& secret, int64_t unix_time, const std::string& body) {
    return hmac(secret, std::to_string(unix_time) + ".", body);
}

// Whether `signed_at` is within `tolerance_seconds` of `now_unix`, either side; the
// distance in unsigned arithmetic cannot overflow, whatever the two times are.
bool within_tolerance(int64_t signed_at, int64_t now_unix, int tolerance_seconds) {
    if (tolerance_seconds < 0) return false;
    const uint64_t distance =
        signed_at >= now_unix ? static_cast<uint64_t>(signed_at) - static_cast<uint64_t>(now_unix)
                              : static_cast<uint64_t>(now_unix) - static_cast<uint64_t>(signed_at);
    return distance <= static_cast<uint64_t>(tolerance_seconds);
}

std::optional<Mac> parse_mac_hex(const std::string& hex) {
    Mac mac;
    auto bytes = from_hex(hex, mac.size());
    if (!bytes) return std::nullopt;
    std::copy(bytes->begin(), bytes->end(), mac.begin());
    return mac;
}

}  // namespace

std::string webhook_signature(const std::string& secret, int64_t unix_time,
                              const std::string& body) {
    const Mac mac = webhook_mac(secret, unix_time, body);
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac.data(), mac.size());
    return "t=" + std::to_string(unix_time) + ",v1=" + hex;
}

bool verify_webhook_signature(const std::string& secret, const std::string& header,
                              const std::string& body, int64_t now_unix, int tolerance_seconds) {
    if (tolerance_seconds < 0) return false;
    std::optional<int64_t> signed_at;
    std::vector<Mac> signatures;
    for (const std::string& part : split(header, ',')) {
        const std::string field = trim(part);
        const size_t equals = field.find('=');
        if (equals == std::string::npos || equals == 0) return false;
        const std::string key = field.substr(0, equals);
        const std::string value = field.substr(equals + 1);
        if (key == "t") {
            const auto seconds = parse_whole_number(value);
            if (!seconds || signed_at) return false;
            signed_at = *seconds;
        } else if (key == "v1") {
            const auto mac = parse_mac_hex(value);
            if (!mac) return false;
            signatures.push_back(*mac);
        }
        // Other keys are other schemes (a future v2), which this receiver does not check.
    }
    if (!signed_at || signatures.empty()) return false;
    if (!within_tolerance(*signed_at, now_unix, tolerance_seconds)) return false;
    const Mac expected = webhook_mac(secret, *signed_at, body);
    bool matches = false;
    for (const Mac& signature : signatures)
        matches |= sodium_memcmp(signature.data(), expected.data(), expected.size()) == 0;
    return matches;
}

bool verify_sent_signature(const std::string& key, const std::string& webhook_id,
                           const std::string& timestamp, const std::string& header,
                           const std::string& body, int64_t now_unix, int tolerance_seconds) {
    const auto signed_at = parse_whole_number(trim(timestamp));
    if (key.empty() || webhook_id.empty() || !signed_at) return false;
    if (!within_tolerance(*signed_at, now_unix, tolerance_seconds)) return false;
    const Mac expected = hmac(key, webhook_id + "." + trim(timestamp) + ".", body);
    bool matches = false;
    // Several signatures, space-separated, while Sent rotates the secret.
    for (const std::string& part : split(trim(header), ' ')) {
        if (part.rfind("v1,", 0) != 0) continue;
        const auto signature = decode_base64(part.substr(3));
        if (!signature || signature->size() != expected.size()) continue;
        matches |= sodium_memcmp(signature->data(), expected.data(), expected.size()) == 0;
    }
    return matches;
}

}  // namespace verifyd
