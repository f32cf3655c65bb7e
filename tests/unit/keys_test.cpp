// Covers keys.hpp: the keys file, authentication of a presented key, keygen, RFC 3339 (§3).
#include "verifyd/keys.hpp"

#include <sodium.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "verifyd/crypto.hpp"

using nlohmann::json;
using verifyd::AuthResult;
using verifyd::ErrorCode;
using verifyd::KeyRing;
using verifyd_test::TempFile;

namespace {

const std::string kTestKey = "sk_test_AbCdEfGhIjKlMnOpQrStUvWxYz012345";
const std::string kLiveKey = "sk_live_0123456789abcdefghijABCDEFGHIJklmn";
const std::string kRevokedKey = "sk_test_revokedrevokedrevokedrevoked0001";
const std::string kExpiringKey = "sk_live_expiringexpiringexpiringexpiring01";
const std::string kUnknownKey = "sk_test_unknownunknownunknownunknown00001";

// 2026-11-23T10:00:00Z
constexpr int64_t kExpiry = 1795428000;

std::string blake2b_hex(const std::string& key) {
    unsigned char out[32];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(key.data()),
                       key.size(), nullptr, 0);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, out, sizeof out);
    return hex;
}

json minimal_entry(const std::string& id, const std::string& key, const std::string& mode) {
    json entry = json::object();
    entry["id"] = id;
    entry["account"] = "acct_" + id;
    entry["hash"] = blake2b_hex(key);
    entry["mode"] = mode;
    return entry;
}

std::string file_of(const std::vector<json>& entries) {
    json file = json::object();
    file["keys"] = json::array();
    for (const json& entry : entries) file["keys"].push_back(entry);
    return file.dump();
}

json full_file() {
    json test = minimal_entry("key_test", kTestKey, "test");
    test["account"] = "acct_demo";
    test["scopes"] = json::array({"verify:send", "verify:check", "verify:read"});
    test["revoked"] = false;
    test["expires_at"] = nullptr;
    test["requests_per_minute"] = 6000;

    json live = minimal_entry("key_live", kLiveKey, "live");
    live["account"] = "acct_other";
    live["scopes"] = json::array({"verify:check"});
    live["revoked"] = false;
    live["expires_at"] = nullptr;
    live["requests_per_minute"] = 42;

    json revoked = minimal_entry("key_revoked", kRevokedKey, "test");
    revoked["account"] = "acct_demo";
    revoked["revoked"] = true;

    json expiring = minimal_entry("key_expiring", kExpiringKey, "live");
    expiring["account"] = "acct_demo";
    expiring["expires_at"] = "2026-11-23T10:00:00Z";

    return json::parse(file_of({test, live, revoked, expiring}));
}

bool refused_with(const AuthResult& result, ErrorCode code) {
    return result.key == nullptr && result.error.has_value() && *result.error == code;
}

void expect_parse_error(const std::string& text) {
    INFO(text);
    try {
        KeyRing::parse(text, 6000);
        FAIL("KeyRing::parse accepted it");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).size() > 0);
    }
}
}  // namespace

TEST_CASE("a full keys file is read entry by entry") {
    verifyd::init_crypto();
    const KeyRing ring = KeyRing::parse(full_file().dump(), 6000);
    CHECK(ring.size() == 4);

    const AuthResult test = ring.authenticate(kTestKey, kExpiry);
    REQUIRE(test.key != nullptr);
    CHECK_FALSE(test.error);
    CHECK(test.key->id == "key_test");
    CHECK(test.key->account == "acct_demo");
    CHECK(test.key->hash == blake2b_hex(kTestKey));
    CHECK_FALSE(test.key->live);
    CHECK(test.key->scopes == verifyd::kAllScopes);
    CHECK_FALSE(test.key->revoked);
    CHECK_FALSE(test.key->expires_at);
    CHECK(test.key->requests_per_minute == 6000);

    const AuthResult live = ring.authenticate(kLiveKey, kExpiry);
    REQUIRE(live.key != nullptr);
    CHECK(live.key->id == "key_live");
    CHECK(live.key->account == "acct_other");
    CHECK(live.key->live);
    CHECK(live.key->scopes == verifyd::kScopeCheck);
    CHECK(live.key->requests_per_minute == 42);
}

TEST_CASE("an entry's scopes, revoked, expires_at and requests_per_minute have defaults") {
    const KeyRing ring = KeyRing::parse(file_of({minimal_entry("k1", kTestKey, "test")}), 1234);
    const AuthResult result = ring.authenticate(kTestKey, kExpiry);
    REQUIRE(result.key != nullptr);
    CHECK(result.key->account == "acct_k1");
    CHECK(result.key->scopes == verifyd::kAllScopes);
    CHECK_FALSE(result.key->revoked);
    CHECK_FALSE(result.key->expires_at);
    CHECK(result.key->requests_per_minute == 1234);
}

TEST_CASE("expires_at is read as unix seconds") {
    const KeyRing ring = KeyRing::parse(full_file().dump(), 6000);
    const AuthResult result = ring.authenticate(kExpiringKey, kExpiry - 1);
    REQUIRE(result.key != nullptr);
    REQUIRE(result.key->expires_at);
    CHECK(*result.key->expires_at == kExpiry);
}

TEST_CASE("a malformed key answers 4011") {
    const KeyRing ring = KeyRing::parse(full_file().dump(), 6000);
    for (const std::string& key :
         {std::string("sk_test_short"), "pk_test_" + kTestKey.substr(8), kTestKey.substr(0, 8 + 31),
          kTestKey.substr(0, 8 + 31) + "-", kTestKey + " ", "Bearer " + kTestKey,
          std::string("sk_test_"), std::string()}) {
        INFO(key);
        CHECK(refused_with(ring.authenticate(key, kExpiry), ErrorCode::InvalidApiKey));
    }
}

TEST_CASE("an unknown well-formed key answers 4011") {
    const KeyRing ring = KeyRing::parse(full_file().dump(), 6000);
    CHECK(refused_with(ring.authenticate(kUnknownKey, kExpiry), ErrorCode::InvalidApiKey));
}

TEST_CASE("a key whose prefix disagrees with its entry's mode answers 4011") {
    const std::string live_looking = "sk_live_" + kTestKey.substr(8);
    const KeyRing ring = KeyRing::parse(file_of({minimal_entry("k1", live_looking, "test")}), 6000);
    CHECK(refused_with(ring.authenticate(live_looking, kExpiry), ErrorCode::InvalidApiKey));
}

TEST_CASE("a revoked key answers 4012") {
    const KeyRing ring = KeyRing::parse(full_file().dump(), 6000);
    CHECK(refused_with(ring.authenticate(kRevokedKey, kExpiry), ErrorCode::RevokedApiKey));
}

TEST_CASE("a key past its expires_at answers 4013, and works before it") {
    const KeyRing ring = KeyRing::parse(full_file().dump(), 6000);
    CHECK(refused_with(ring.authenticate(kExpiringKey, kExpiry + 1), ErrorCode::ExpiredApiKey));
    CHECK(refused_with(ring.authenticate(kExpiringKey, kExpiry + 86400), ErrorCode::ExpiredApiKey));
    const AuthResult before = ring.authenticate(kExpiringKey, kExpiry - 60);
    REQUIRE(before.key != nullptr);
    CHECK_FALSE(before.error);
    CHECK(before.key->id == "key_expiring");
}

TEST_CASE("well-formed keys are sk_live_ or sk_test_ then at least 32 alphanumerics") {
    CHECK(verifyd::is_well_formed_key(kTestKey));
    CHECK(verifyd::is_well_formed_key(kLiveKey));
    CHECK(verifyd::is_well_formed_key("sk_test_" + std::string(32, 'a')));
    CHECK(verifyd::is_well_formed_key("sk_live_" + std::string(64, 'Z')));
    CHECK_FALSE(verifyd::is_well_formed_key("sk_test_" + std::string(31, 'a')));
    CHECK_FALSE(verifyd::is_well_formed_key("sk_prod_" + std::string(32, 'a')));
    CHECK_FALSE(verifyd::is_well_formed_key("pk_test_" + std::string(32, 'a')));
    CHECK_FALSE(verifyd::is_well_formed_key("SK_TEST_" + std::string(32, 'a')));
    CHECK_FALSE(verifyd::is_well_formed_key("sk_test_" + std::string(31, 'a') + "_"));
    CHECK_FALSE(verifyd::is_well_formed_key("sk_test_" + std::string(31, 'a') + "\xc3\xa9"));
    CHECK_FALSE(verifyd::is_well_formed_key("sk_test" + std::string(33, 'a')));
    CHECK_FALSE(verifyd::is_well_formed_key(""));
}

TEST_CASE("scope names map to their scope bits") {
    CHECK(verifyd::scope_from_name("verify:send") == verifyd::kScopeSend);
    CHECK(verifyd::scope_from_name("verify:check") == verifyd::kScopeCheck);
    CHECK(verifyd::scope_from_name("verify:read") == verifyd::kScopeRead);
    CHECK_FALSE(verifyd::scope_from_name("verify:write"));
    CHECK_FALSE(verifyd::scope_from_name("send"));
    CHECK_FALSE(verifyd::scope_from_name(""));
}

TEST_CASE("a keys file that is not JSON or has no keys array is refused") {
    expect_parse_error("not json");
    expect_parse_error("{\"keys\": [");
    expect_parse_error("{}");
    expect_parse_error("[]");
    expect_parse_error("{\"keys\": {}}");
    expect_parse_error("{\"keys\": \"key_demo\"}");
    expect_parse_error("{\"keys\": [42]}");
}

TEST_CASE("an entry without id, account or hash is refused") {
    for (const char* field : {"id", "account", "hash"}) {
        json entry = minimal_entry("k1", kTestKey, "test");
        entry.erase(field);
        expect_parse_error(file_of({entry}));
        entry[field] = 7;
        expect_parse_error(file_of({entry}));
        entry[field] = "";
        expect_parse_error(file_of({entry}));
    }
}

TEST_CASE("a hash that is not 64 lowercase hex characters is refused") {
    const std::string hash = blake2b_hex(kTestKey);
    std::string upper = hash;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
        return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    for (const std::string& bad :
         {upper, hash.substr(0, 63), hash + "0", hash.substr(0, 63) + "g", kTestKey}) {
        json entry = minimal_entry("k1", kTestKey, "test");
        entry["hash"] = bad;
        expect_parse_error(file_of({entry}));
    }
}

TEST_CASE("a mode other than test or live is refused") {
    for (const json& mode : {json("prod"), json("TEST"), json(""), json(1)}) {
        json entry = minimal_entry("k1", kTestKey, "test");
        entry["mode"] = mode;
        expect_parse_error(file_of({entry}));
    }
}

TEST_CASE("an unknown scope is refused") {
    json entry = minimal_entry("k1", kTestKey, "test");
    entry["scopes"] = json::array({"verify:send", "verify:write"});
    expect_parse_error(file_of({entry}));
    entry["scopes"] = "verify:send";
    expect_parse_error(file_of({entry}));
}

TEST_CASE("a duplicate id or a duplicate hash is refused") {
    json other = minimal_entry("k1", kLiveKey, "live");
    expect_parse_error(file_of({minimal_entry("k1", kTestKey, "test"), other}));
    expect_parse_error(
        file_of({minimal_entry("k1", kTestKey, "test"), minimal_entry("k2", kTestKey, "test")}));
}

TEST_CASE("requests_per_minute must be a positive integer") {
    for (const json& rpm : {json(0), json(-1), json("100"), json(1.5), json(true)}) {
        json entry = minimal_entry("k1", kTestKey, "test");
        entry["requests_per_minute"] = rpm;
        expect_parse_error(file_of({entry}));
    }
}

TEST_CASE("an expires_at that is not RFC 3339 or null is refused") {
    for (const json& when :
         {json("tomorrow"), json("2026-11-23"), json("2026-13-01T00:00:00Z"), json(1795428000)}) {
        json entry = minimal_entry("k1", kTestKey, "test");
        entry["expires_at"] = when;
        expect_parse_error(file_of({entry}));
    }
}

TEST_CASE("revoked must be a boolean") {
    json entry = minimal_entry("k1", kTestKey, "test");
    entry["revoked"] = "yes";
    expect_parse_error(file_of({entry}));
}

TEST_CASE("load_file reads a keys file and refuses a missing one") {
    TempFile file(full_file().dump(2));
    const KeyRing ring = KeyRing::load_file(file.path(), 6000);
    CHECK(ring.size() == 4);
    CHECK(ring.authenticate(kTestKey, kExpiry).key != nullptr);
    CHECK_THROWS_AS(KeyRing::load_file("/nonexistent/verifyd/keys.json", 6000), std::runtime_error);
}

TEST_CASE("a generated key has its mode's prefix and at least 32 alphanumerics") {
    verifyd::init_crypto();
    const verifyd::GeneratedKey test = verifyd::generate_key("acct_x", false, verifyd::kAllScopes);
    const verifyd::GeneratedKey live = verifyd::generate_key("acct_x", true, verifyd::kAllScopes);
    CHECK(test.key.rfind("sk_test_", 0) == 0);
    CHECK(live.key.rfind("sk_live_", 0) == 0);
    for (const std::string& key : {test.key, live.key}) {
        INFO(key);
        CHECK(key.size() >= 8 + 32);
        CHECK(std::all_of(key.begin() + 8, key.end(),
                          [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }));
        CHECK(verifyd::is_well_formed_key(key));
    }
    CHECK(verifyd::generate_key("acct_x", false, verifyd::kAllScopes).key != test.key);
}

TEST_CASE("a generated entry parses back and authenticates its key, which it does not contain") {
    verifyd::init_crypto();
    for (bool live : {false, true}) {
        const unsigned scopes = verifyd::kScopeSend | verifyd::kScopeRead;
        const verifyd::GeneratedKey generated = verifyd::generate_key("acct_gen", live, scopes);
        INFO(generated.entry_json);
        CHECK(generated.entry_json.find(generated.key.substr(8)) == std::string::npos);

        const json entry = json::parse(generated.entry_json);
        REQUIRE(entry.is_object());
        CHECK(entry.at("hash") == blake2b_hex(generated.key));
        CHECK(entry.at("mode") == (live ? "live" : "test"));

        const KeyRing ring = KeyRing::parse(file_of({entry}), 777);
        const AuthResult result = ring.authenticate(generated.key, kExpiry);
        REQUIRE(result.key != nullptr);
        CHECK(result.key->account == "acct_gen");
        CHECK(result.key->live == live);
        CHECK(result.key->scopes == scopes);
        CHECK_FALSE(result.key->revoked);
    }
}

TEST_CASE("RFC 3339 times parse to unix seconds, offsets and fractions included") {
    CHECK(verifyd::parse_rfc3339("1970-01-01T00:00:00Z") == int64_t{0});
    CHECK(verifyd::parse_rfc3339("2026-11-23T10:00:00Z") == kExpiry);
    CHECK(verifyd::parse_rfc3339("2026-11-23T12:00:00+02:00") == kExpiry);
    CHECK(verifyd::parse_rfc3339("2026-11-23T05:30:00-04:30") == kExpiry);
    CHECK(verifyd::parse_rfc3339("2026-11-23T10:00:00.25Z") == kExpiry);
    CHECK(verifyd::parse_rfc3339("2026-11-23T10:00:00.123456+00:00") == kExpiry);
    CHECK(verifyd::parse_rfc3339("2028-02-29T00:00:00Z") == int64_t{1835395200});
}

TEST_CASE("a text that is not an RFC 3339 time parses to nothing") {
    for (const char* text :
         {"2026-13-23T10:00:00Z", "2026-00-23T10:00:00Z", "2026-11-32T10:00:00Z",
          "2026-11-23T25:00:00Z", "2026-11-23T10:60:00Z", "2026-11-23", "2026-11-23T10:00:00",
          "2026-11-23 10:00:00Z x", "2026-11-23T10:00:00Zjunk", "2026-11-23T10:00:00+2:00",
          "garbage", ""}) {
        INFO(text);
        CHECK_FALSE(verifyd::parse_rfc3339(text));
    }
}

TEST_CASE("a day that its month does not have is not an RFC 3339 date") {
    for (const char* text : {"2026-02-30T10:00:00Z", "2026-04-31T10:00:00Z", "2026-02-29T10:00:00Z",
                             "2100-02-29T10:00:00Z"}) {
        INFO(text);
        CHECK_FALSE(verifyd::parse_rfc3339(text));
    }
    CHECK(verifyd::parse_rfc3339("2000-02-29T00:00:00Z") == int64_t{951782400});
}

TEST_CASE("a date-time field with a sign or a space in it is not RFC 3339") {
    for (const char* text : {"2026-11-23T-1:00:00Z", "2026-11-23T10:-1:00Z", "2026-11-23T10:00:-1Z",
                             "2026-11-23T 1:00:00Z", "2026-+1-23T10:00:00Z", "2026-11-+3T10:00:00Z",
                             "+026-11-23T10:00:00Z", " 2026-11-23T10:00:00Z"}) {
        INFO(text);
        CHECK_FALSE(verifyd::parse_rfc3339(text));
    }
}

TEST_CASE("unix milliseconds format as RFC 3339 UTC whole seconds with a Z") {
    CHECK(verifyd::format_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(verifyd::format_rfc3339(kExpiry * 1000) == "2026-11-23T10:00:00Z");
    CHECK(verifyd::format_rfc3339(kExpiry * 1000 + 999) == "2026-11-23T10:00:00Z");
    CHECK(verifyd::format_rfc3339(int64_t{1835395200} * 1000) == "2028-02-29T00:00:00Z");
}

TEST_CASE("formatting then parsing gives back the second") {
    for (int64_t ms :
         {int64_t{0}, kExpiry * 1000 + 500, int64_t{951782400123}, int64_t{4102444799000}}) {
        INFO(ms);
        CHECK(verifyd::parse_rfc3339(verifyd::format_rfc3339(ms)) == ms / 1000);
    }
}
