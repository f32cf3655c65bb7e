// Sandbox and live are two worlds (§3): a test key, or a live key asking for sandbox,
// never sees, supersedes, limits, checks or cancels a live verification, and the other
// way round.
#include <catch2/catch.hpp>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

const std::string kUkMobile = "+447911123456";

// A number as a query value: its + percent-encoded.
std::string query_number(const std::string& number) {
    return "%2B" + number.substr(1);
}

}  // namespace

TEST_CASE("a sandbox send to a number with a live login leaves the live verification intact") {
    VerifydInstance v;
    json live = v.send_ok(v.key(kLiveA), kUkMobile);
    const std::string live_code = v.live_code_from_log(live["message_id"]);
    json sandbox = v.send_ok(v.key(kTestA), kUkMobile);
    const std::string sandbox_code = v.sandbox_code(v.key(kTestA), sandbox["id"]);

    // The test key sees only its own message for the number.
    json messages = require_success(v.get("/messages?to=%2B447911123456", v.key(kTestA)));
    REQUIRE(messages["messages"].size() == 1);
    CHECK(messages["messages"][0]["verification_id"] == sandbox["id"]);
    json live_messages = require_success(v.get("/messages?to=%2B447911123456", v.key(kLiveA)));
    REQUIRE(live_messages["messages"].size() == 1);
    CHECK(live_messages["messages"][0]["verification_id"] == live["id"]);

    // The sandbox code does not approve the live login; the live verification is still
    // pending, counted one wrong attempt (unless the codes happen to be equal).
    if (sandbox_code != live_code) {
        json refused =
            require_success(v.check(v.key(kLiveA), {{"to", kUkMobile}, {"code", sandbox_code}}));
        CHECK(refused["status"] == "pending");
        CHECK(refused["id"] == live["id"]);
    }
    json read = require_success(v.get_verification(v.key(kLiveA), live["id"]));
    CHECK(read["status"] == "pending");
    json approved =
        require_success(v.check(v.key(kLiveA), {{"to", kUkMobile}, {"code", live_code}}));
    CHECK(approved["status"] == "approved");
    CHECK(approved["id"] == live["id"]);

    // The sandbox verification was never touched by the live check.
    json sandbox_read = require_success(v.get_verification(v.key(kTestA), sandbox["id"]));
    CHECK(sandbox_read["status"] == "pending");
    CHECK(sandbox_read["attempts"] == 0);
}

TEST_CASE(
    "a test key reading, checking, cancelling or listing a live verification gets 4040 or "
    "4044") {
    VerifydInstance v;
    json live = v.send_ok(v.key(kLiveA), us_number(31001));
    const std::string id = live["id"], message_id = live["message_id"];
    require_error(v.get_verification(v.key(kTestA), id), 404, 4040);
    require_error(v.get("/messages/" + message_id, v.key(kTestA)), 404, 4044);
    require_error(v.get("/v3/messages/" + message_id, v.key(kTestA)), 404, 4044);
    require_error(v.check(v.key(kTestA), id, "123456"), 404, 4040);
    require_error(v.cancel(v.key(kTestA), id), 404, 4040);
    // A live key asking for sandbox is in sandbox too.
    require_error(v.get_verification(v.key(kLiveA), id + "?sandbox=true"), 404, 4040);
    require_error(v.check(v.key(kLiveA), {{"id", id}, {"code", "123456"}, {"sandbox", true}}), 404,
                  4040);
    require_error(v.post("/verify/" + id + "/cancel?sandbox=true", v.key(kLiveA), json::object()),
                  404, 4040);
    json listed =
        require_success(v.get("/messages?to=" + query_number(us_number(31001)), v.key(kTestA)));
    CHECK(listed["messages"].empty());
    require_error(v.check(v.key(kTestA), {{"to", us_number(31001)}, {"code", "123456"}}), 404,
                  4040);

    // None of that touched it: it is pending with every attempt left.
    json read = require_success(v.get_verification(v.key(kLiveA), id));
    CHECK(read["status"] == "pending");
    CHECK(read["attempts"] == 0);
}

TEST_CASE(
    "a live key reading or checking a sandbox verification gets 4040 unless it asks for "
    "sandbox") {
    VerifydInstance v;
    json sandbox = v.send_ok(v.key(kTestA), us_number(31002));
    const std::string id = sandbox["id"];
    const std::string code = v.sandbox_code(v.key(kTestA), id);
    require_error(v.get_verification(v.key(kLiveA), id), 404, 4040);
    require_error(v.check(v.key(kLiveA), id, code), 404, 4040);
    require_error(v.check(v.key(kLiveA), {{"to", us_number(31002)}, {"code", code}}), 404, 4040);
    json approved =
        require_success(v.check(v.key(kLiveA), {{"id", id}, {"code", code}, {"sandbox", true}}));
    CHECK(approved["status"] == "approved");
}

TEST_CASE("sandbox sends do not use up a number's live limits or cooldown") {
    VerifydInstance v(Settings{{"VERIFYD_SEND_LIMITS", "1/600"}});
    v.send_ok(v.key(kTestA), us_number(31003));
    require_error(v.send(v.key(kTestA), {{"to", us_number(31003)}}), 429, 4043);
    v.send_ok(v.key(kLiveA), us_number(31003));
    require_error(v.send(v.key(kLiveA), {{"to", us_number(31003)}}), 429, 4043);
}

TEST_CASE("a bad sandbox query parameter answers 4000 naming it") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(31004));
    const std::string id = sent["id"];
    require_detail(require_error(v.get_verification(v.key(kTestA), id + "?sandbox=yes"), 400, 4000),
                   "sandbox");
    require_detail(require_error(v.get_verification(v.key(kTestA), id + "?color=red"), 400, 4000),
                   "color");
    require_detail(
        require_error(v.check(v.key(kLiveA), {{"id", id}, {"code", "123456"}, {"sandbox", "true"}}),
                      400, 4000),
        "sandbox");
}
