// The destination policy (§10.1) over HTTP: a send outside the account's policy answers
// 403 / 4031 naming the rule, creates nothing and uses up no limit; the policy file is
// re-read with the keys file, and a bad one is kept out on reload. Not for: the rules'
// fine print (unit/policy_test.cpp) or a bad file at start-up (cli_test.cpp).
#include <catch2/catch.hpp>
#include <thread>

#include "support/api_checks.hpp"
#include "support/temp_dir.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("a send outside the account's policy answers 4031 naming the rule and changes nothing") {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    replace_file(
        policy,
        R"({"default": {"countries": {"block": ["FR"]}, "prefixes": {"block": ["+1415200"]}}})");
    VerifydInstance v(Settings{{"VERIFYD_POLICY_FILE", policy}});

    json blocked = require_error(v.send(v.key(kTestA), {{"to", "+33612345678"}}), 403, 4031);
    CHECK(require_detail(blocked, "to").find("countries.block") != std::string::npos);
    json prefixed = require_error(v.send(v.key(kTestA), {{"to", "+14152000102"}}), 403, 4031);
    CHECK(require_detail(prefixed, "to").find("+1415200") != std::string::npos);
    // Nothing was created: the number has no messages and its limits are untouched.
    json listed = require_success(v.get("/messages?to=%2B33612345678", v.key(kTestA)));
    CHECK(listed["messages"].empty());
    for (int i = 0; i < 3; ++i)
        require_error(v.send(v.key(kTestA), {{"to", "+33612345678"}}), 403, 4031);
    v.send_ok(v.key(kTestA), us_number(45001));
    CHECK(metric_value(v.get("/metrics").body, "verifyd_send_refusals_total",
                       {{"rule", "country_blocked"}, {"country", "FR"}}) == 4.0);
}

TEST_CASE("the policy file is re-read on change, and a bad one keeps the old policy") {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    replace_file(policy, R"({"default": {"countries": {"allow": ["US"]}}})");
    VerifydInstance v(Settings{{"VERIFYD_POLICY_FILE", policy}});
    require_error(v.send(v.key(kTestA), {{"to", "+33612345678"}}), 403, 4031);

    replace_file(policy, R"({"default": {"countries": {"allow": ["US", "FR"]}}})");
    REQUIRE(wait_until(
        [&] {
            return v.send(v.key(kTestA), {{"to", "+33612345679"}}).status == 201;
        },
        seconds(5)));

    replace_file(policy, R"({"default": {"countries": {"allow": ["XX"]}}})");
    REQUIRE(wait_until([&] { return v.log().find("XX") != std::string::npos; }, seconds(5)));
    // The old policy stands: France is still allowed, Germany still not.
    v.send_ok(v.key(kTestA), "+33612345670");
    require_error(v.send(v.key(kTestA), {{"to", "+4915112345678"}}), 403, 4031);
}
