// API keys (§3): the keys file, held in memory, and the authentication of a presented
// key. Keys exist here only as their unkeyed BLAKE2b-256 hashes. Not for: per-key
// request limits, which live in Redis so that they hold across replicas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "verifyd/errors.hpp"

namespace verifyd {

enum Scope : unsigned {
    kScopeSend = 1,
    kScopeCheck = 2,
    kScopeRead = 4,
    // What a key without a "scopes" list gets: never verify:admin, which a key has only
    // when its entry lists it.
    kAllScopes = kScopeSend | kScopeCheck | kScopeRead,
    kScopeAdmin = 8,  // the fraud guard's pauses and safe list (§10.3)
};

// "verify:send" → kScopeSend; nothing for an unknown name.
std::optional<Scope> scope_from_name(std::string_view name);

struct ApiKey {
    std::string id;
    std::string account;
    std::string hash;  // lowercase hex
    bool live = false;
    unsigned scopes = kAllScopes;
    bool revoked = false;
    std::optional<int64_t> expires_at;  // unix seconds
    int requests_per_minute = 0;
};

struct AuthResult {
    const ApiKey* key = nullptr;     // set when authenticated
    std::optional<ErrorCode> error;  // 4011, 4012 or 4013 otherwise
};

class KeyRing {
  public:
    // Throws std::runtime_error saying what is wrong (and in which entry).
    static KeyRing parse(const std::string& json_text, int default_rpm);
    static KeyRing load_file(const std::string& path, int default_rpm);

    AuthResult authenticate(std::string_view presented_key, int64_t now_unix) const;
    size_t size() const { return keys_.size(); }

  private:
    std::vector<ApiKey> keys_;
    std::unordered_map<std::string, size_t> by_hash_;
};

// `sk_live_` or `sk_test_` then at least 32 of [A-Za-z0-9].
bool is_well_formed_key(std::string_view key);

// A new key of the given mode and its keys-file entry (one JSON object).
struct GeneratedKey {
    std::string key;
    std::string entry_json;
};
GeneratedKey generate_key(const std::string& account, bool live, unsigned scopes);

// Parses RFC 3339 ("2026-11-23T10:00:00Z", offsets and fractions allowed) to unix seconds.
std::optional<int64_t> parse_rfc3339(const std::string& text);
// Formats unix milliseconds as RFC 3339 UTC with a Z suffix, whole seconds.
std::string format_rfc3339(int64_t unix_ms);

}  // namespace verifyd
