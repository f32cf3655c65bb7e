// Generates the fixture's API keys and their keys-file entries.
#include "support/test_keys.hpp"

#include <sodium.h>

#include <random>
#include <stdexcept>

namespace verifyd_test {

namespace {

std::string random_from(const std::string& alphabet, size_t length) {
    std::random_device device;
    std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
    std::string out;
    for (size_t i = 0; i < length; ++i) {
        out += alphabet[pick(device)];
    }
    return out;
}

}  // namespace

std::string key_file_hash(const std::string& key) {
    if (sodium_init() < 0) {
        throw std::runtime_error("sodium_init failed");
    }
    unsigned char digest[32];
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key.data()),
                       key.size(), nullptr, 0);
    char hex[sizeof digest * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

std::string twilio_account_sid_of(const std::string& account) {
    return "AC" + key_file_hash(account).substr(0, 32);
}

std::string random_api_key(bool live) {
    static const std::string alphanumerics =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return std::string(live ? "sk_live_" : "sk_test_") + random_from(alphanumerics, 40);
}

verifyd::HashKey hash_key_filled_with(unsigned char byte) {
    verifyd::HashKey key{};
    key.fill(byte);
    return key;
}

std::string random_hex(size_t bytes) {
    return random_from("0123456789abcdef", bytes * 2);
}

TestKeys::TestKeys() {
    struct Spec {
        const char* name;
        const char* account;
        bool live;
        std::vector<std::string> scopes;  // empty: the field is left out (all scopes)
        bool revoked;
        std::optional<std::string> expires_at;
        std::optional<int> requests_per_minute;
    };
    const std::vector<Spec> specs = {
        {kTestA, kAccountA, false, {}, false, std::nullopt, std::nullopt},
        {kLiveA, kAccountA, true, {}, false, std::nullopt, std::nullopt},
        {kTestB, kAccountB, false, {}, false, std::nullopt, std::nullopt},
        {kReadOnly, kAccountA, false, {"verify:read"}, false, std::nullopt, std::nullopt},
        {kSendOnly, kAccountA, false, {"verify:send"}, false, std::nullopt, std::nullopt},
        {kRevoked, kAccountA, false, {}, true, std::nullopt, std::nullopt},
        {kExpired, kAccountA, false, {}, false, std::string("2020-01-01T00:00:00Z"), std::nullopt},
        {kLimited, kAccountC, false, {}, false, std::nullopt, 5},
    };
    for (const auto& spec : specs) {
        std::string key = random_api_key(spec.live);
        keys_[spec.name] = key;
        nlohmann::json entry = {{"id", std::string("key_") + spec.name},
                                {"account", spec.account},
                                {"hash", key_file_hash(key)},
                                {"mode", spec.live ? "live" : "test"},
                                {"revoked", spec.revoked}};
        entry["expires_at"] = spec.expires_at ? nlohmann::json(*spec.expires_at) : nullptr;
        if (!spec.scopes.empty()) {
            entry["scopes"] = spec.scopes;
        }
        if (spec.requests_per_minute) {
            entry["requests_per_minute"] = *spec.requests_per_minute;
        }
        entries_.push_back(entry);
    }
}

std::string TestKeys::keys_file(const std::vector<nlohmann::json>& extra_entries) const {
    nlohmann::json keys = entries_;
    for (const auto& entry : extra_entries) {
        keys.push_back(entry);
    }
    return nlohmann::json{{"keys", keys}}.dump(2);
}

}  // namespace verifyd_test
