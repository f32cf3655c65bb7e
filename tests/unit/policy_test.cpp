// Covers policy.hpp: the destination policy file (§10.1) and its rules.
#include "verifyd/policy.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

using verifyd::GuardMode;
using verifyd::Policy;

namespace {

const char* kExample = R"({
  "default": {"countries": {"allow": ["*"], "block": ["KP"]}, "prefixes": {"block": []},
              "fraud_guard": "on"},
  "accounts": {"acct_demo": {"countries": {"allow": ["US", "GB", "DE"]},
                             "prefixes": {"block": ["+4470"]}},
               "acct_quiet": {"fraud_guard": "monitor"}}})";

std::string rule_of(const Policy& policy, const std::string& account, const std::string& to,
                    const std::string& region) {
    auto refused = policy.refusal(account, to, region);
    return refused ? refused->rule : "";
}

}  // namespace

TEST_CASE(
    "without a policy file every destination is allowed and the guard takes the environment's "
    "mode") {
    const Policy policy(GuardMode::Monitor);
    CHECK_FALSE(policy.refusal("acct_any", "+14155552671", "US"));
    CHECK(policy.rules_for("acct_any").fraud_guard == GuardMode::Monitor);
}

TEST_CASE("an account's entry overrides the default field by field, one level deep") {
    const Policy policy = Policy::parse(kExample, GuardMode::Off);
    // acct_demo's allow list replaces the default's "*"; the default's block stays.
    CHECK(rule_of(policy, "acct_demo", "+33612345678", "FR") == "country_not_allowed");
    CHECK(rule_of(policy, "acct_demo", "+14155552671", "US").empty());
    CHECK(rule_of(policy, "acct_demo", "+447012345678", "GB") == "prefix_blocked");
    CHECK(rule_of(policy, "acct_demo", "+850191234567", "KP") == "country_blocked");
    CHECK(policy.rules_for("acct_demo").fraud_guard == GuardMode::On);
    // Any other account gets the default.
    CHECK(rule_of(policy, "acct_other", "+33612345678", "FR").empty());
    CHECK(rule_of(policy, "acct_other", "+850191234567", "KP") == "country_blocked");
    CHECK(policy.rules_for("acct_quiet").fraud_guard == GuardMode::Monitor);
    CHECK(rule_of(policy, "acct_quiet", "+850191234567", "KP") == "country_blocked");
}

TEST_CASE("a blocked country wins over an allowed one, and the refusal names the rule") {
    const Policy policy = Policy::parse(
        R"({"default": {"countries": {"allow": ["US", "FR"], "block": ["FR"]}}})", GuardMode::On);
    auto refused = policy.refusal("a", "+33612345678", "FR");
    REQUIRE(refused);
    CHECK(std::string(refused->rule) == "country_blocked");
    CHECK(refused->problem.find("FR") != std::string::npos);
    CHECK(refused->problem.find("countries.block") != std::string::npos);
    auto prefixed =
        Policy::parse(R"({"default": {"prefixes": {"block": ["+1900"]}}})", GuardMode::On)
            .refusal("a", "+19005550100", "US");
    REQUIRE(prefixed);
    CHECK(prefixed->problem.find("+1900") != std::string::npos);
}

TEST_CASE(
    "the environment's guard mode is the default's unless the file's default says otherwise") {
    CHECK(Policy::parse("{}", GuardMode::Off).rules_for("a").fraud_guard == GuardMode::Off);
    CHECK(Policy::parse(R"({"default": {"fraud_guard": "monitor"}})", GuardMode::Off)
              .rules_for("a")
              .fraud_guard == GuardMode::Monitor);
}

TEST_CASE(
    "an unknown region, a malformed prefix, an unknown field or mode is refused, saying where") {
    const char* bad[][2] = {
        {R"({"default": {"countries": {"allow": ["XX"]}}})", "default.countries.allow"},
        {R"({"default": {"countries": {"block": ["*"]}}})", "default.countries.block"},
        {R"({"accounts": {"a": {"countries": {"allow": ["us"]}}}})", "accounts.a.countries.allow"},
        {R"({"default": {"prefixes": {"block": ["4470"]}}})", "default.prefixes.block"},
        {R"({"default": {"prefixes": {"block": ["+"]}}})", "default.prefixes.block"},
        {R"({"default": {"prefixes": {"block": ["+123456789012345"]}}})", "default.prefixes.block"},
        {R"({"default": {"fraud_guard": "maybe"}})", "default.fraud_guard"},
        {R"({"default": {"countries": {"allowed": ["US"]}}})", "allowed"},
        {R"({"defaults": {}})", "defaults"},
        {R"({"accounts": []})", "accounts"},
        {R"({"default": {"countries": {"allow": "US"}}})", "default.countries.allow"},
        {"not json", "JSON"},
    };
    for (const auto& [text, named] : bad) {
        INFO(text);
        try {
            Policy::parse(text, GuardMode::On);
            FAIL("accepted");
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find(named) != std::string::npos);
        }
    }
}
