// Covers idempotency.hpp: the Idempotency-Key's format, the request fingerprint, the
// key's name per account, mode and endpoint, and which refusals are kept, as kept.
#include "verifyd/idempotency.hpp"

#include <catch2/catch.hpp>

#include "support/test_keys.hpp"
#include "verifyd/crypto.hpp"

using verifyd::ApiError;
using verifyd::Caller;
using verifyd::ErrorCode;
using verifyd_test::hash_key_filled_with;

namespace {

std::string fingerprint(const std::string& path, const std::string& body) {
    return verifyd::request_fingerprint_of("POST", path, {}, body);
}

}  // namespace

TEST_CASE("an Idempotency-Key is 1 to 255 characters of letters, digits, _ and -") {
    CHECK(verifyd::is_idempotency_key("a"));
    CHECK(verifyd::is_idempotency_key("Login_2026-12-02_abc"));
    CHECK(verifyd::is_idempotency_key(std::string(255, 'z')));
    CHECK_FALSE(verifyd::is_idempotency_key(""));
    CHECK_FALSE(verifyd::is_idempotency_key(std::string(256, 'z')));
    for (const char* bad : {"a b", "a.b", "a/b", "é", "a:b", "a\tb"}) {
        INFO(bad);
        CHECK_FALSE(verifyd::is_idempotency_key(bad));
    }
}

TEST_CASE("a fingerprint ignores white space and key order but not path, query or values") {
    const std::string base =
        fingerprint("/verify/send", R"({"to":"+14155552671","channel":"sms"})");
    CHECK(base.size() == 16);
    CHECK(fingerprint("/verify/send", " { \"channel\" : \"sms\",\n \"to\": \"+14155552671\" } ") ==
          base);
    CHECK(fingerprint("/verify/check", R"({"to":"+14155552671","channel":"sms"})") != base);
    CHECK(fingerprint("/verify/send", R"({"to":"+14155552672","channel":"sms"})") != base);
    CHECK(verifyd::request_fingerprint_of("POST", "/verify/send", {{"sandbox", "true"}},
                                          R"({"to":"+14155552671","channel":"sms"})") != base);
    // A body that is not JSON is taken as it is.
    CHECK(fingerprint("/verify/send", "not json") == fingerprint("/verify/send", "not json"));
    CHECK(fingerprint("/verify/send", "not json") != fingerprint("/verify/send", "not  json"));
}

TEST_CASE("an Idempotency-Key's name differs per account, mode, endpoint, key and number key") {
    verifyd::init_crypto();
    const auto number_key = hash_key_filled_with(7);
    const Caller live{"acct_a", "key_1", 100, false};
    const Caller sandbox{"acct_a", "key_2", 100, true};
    const Caller other{"acct_b", "key_3", 100, false};
    auto name = [&](const verifyd::HashKey& k, const Caller& c, const char* endpoint,
                    const char* key) {
        return verifyd::make_idempotency(k, c, endpoint, key, "fp", 60).name;
    };
    const std::string base = name(number_key, live, "/verify/send", "k1");
    CHECK(base.size() == 22);
    CHECK(base.find("k1") == std::string::npos);
    // Another key of the same account and mode shares the name: the key is the account's.
    CHECK(name(number_key, {"acct_a", "key_9", 1, false}, "/verify/send", "k1") == base);
    CHECK(name(number_key, sandbox, "/verify/send", "k1") != base);
    CHECK(name(number_key, other, "/verify/send", "k1") != base);
    CHECK(name(number_key, live, "/verify/check", "k1") != base);
    CHECK(name(number_key, live, "/verify/send", "k2") != base);
    CHECK(name(hash_key_filled_with(8), live, "/verify/send", "k1") != base);
}

TEST_CASE("every 4xx but 4029 and 4009 is kept, and no 5xx is") {
    CHECK(verifyd::is_recorded_refusal(verifyd::make_error(ErrorCode::InvalidPhone)));
    CHECK(verifyd::is_recorded_refusal(verifyd::make_error(ErrorCode::VerificationNotFound)));
    CHECK(verifyd::is_recorded_refusal(verifyd::make_error(ErrorCode::OtpRateLimit)));
    CHECK_FALSE(verifyd::is_recorded_refusal(verifyd::make_error(ErrorCode::RateLimitExceeded)));
    CHECK_FALSE(verifyd::is_recorded_refusal(verifyd::make_error(ErrorCode::IdempotencyConflict)));
    CHECK_FALSE(verifyd::is_recorded_refusal(verifyd::store_unavailable()));
    CHECK_FALSE(verifyd::is_recorded_refusal(verifyd::make_error(ErrorCode::InternalError)));
}

TEST_CASE("a kept refusal comes back with its code, status, message and details") {
    ApiError error = verifyd::make_field_error(ErrorCode::InvalidPhone, "to", "is not valid");
    error = verifyd::with_status(error, 400);
    auto back = verifyd::decode_refusal(verifyd::encode_refusal(error));
    REQUIRE(back);
    CHECK(back->code == ErrorCode::InvalidPhone);
    CHECK(back->http_status == 400);
    CHECK(back->message == error.message);
    CHECK(back->details == error.details);
    CHECK_FALSE(verifyd::decode_refusal("{}"));
    CHECK_FALSE(verifyd::decode_refusal("not json"));
    CHECK_FALSE(verifyd::decode_refusal(R"({"code": 1234})"));
}
