// The API keys every integration test can use, generated afresh per fixture, and the
// keys file (§3 of the contract) that lists their hashes. Each key has a name that says
// what it is for. Not for: key handling inside verifyd (that is keys.hpp).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/config.hpp"

namespace verifyd_test {

// Key names. Accounts: A holds most keys, B is "another account", C has the slow key.
inline constexpr const char* kTestA = "test_a";        // sk_test_, account A, all scopes
inline constexpr const char* kLiveA = "live_a";        // sk_live_, account A, all scopes
inline constexpr const char* kTestB = "test_b";        // sk_test_, account B, all scopes
inline constexpr const char* kReadOnly = "read_only";  // account A, verify:read only
inline constexpr const char* kSendOnly = "send_only";  // account A, verify:send only
inline constexpr const char* kRevoked = "revoked";     // account A, revoked
inline constexpr const char* kExpired = "expired";     // account A, expires_at in the past
inline constexpr const char* kLimited = "limited";     // account C, requests_per_minute 5

inline constexpr const char* kAccountA = "acct_a";
inline constexpr const char* kAccountB = "acct_b";
inline constexpr const char* kAccountC = "acct_c";

// The keys-file hash of §3: unkeyed BLAKE2b-256, lowercase hex, computed here with
// libsodium directly so that the tests do not trust verifyd's own implementation.
std::string key_file_hash(const std::string& key);

// The account SID of the Twilio face (§11): "AC" and the first 32 hex digits of the
// unkeyed BLAKE2b-256 of the account's name, computed here as key_file_hash does.
std::string twilio_account_sid_of(const std::string& account);

// `sk_test_` or `sk_live_` and 40 random characters of [A-Za-z0-9].
std::string random_api_key(bool live);

// A hash key (VERIFYD_HASH_KEY) whose every byte is `byte`.
verifyd::HashKey hash_key_filled_with(unsigned char byte);

// `bytes` random bytes as lowercase hex.
std::string random_hex(size_t bytes);

class TestKeys {
  public:
    TestKeys();
    // Throws std::out_of_range for an unknown name.
    const std::string& key(const std::string& name) const { return keys_.at(name); }
    // The keys file with every key above and `extra_entries` appended.
    std::string keys_file(const std::vector<nlohmann::json>& extra_entries = {}) const;

  private:
    std::map<std::string, std::string> keys_;
    std::vector<nlohmann::json> entries_;
};

}  // namespace verifyd_test
