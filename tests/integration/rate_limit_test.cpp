// Rate limits (§5.2): per-number send windows and the resend cooldown (4043), what a
// refused send does not consume, sandbox and live counted apart, the per-key request
// limit (4029), and limits shared by replicas. Each test steps past a window's edge once
// verifyd has started, whose time a loaded machine may stretch.
#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

TEST_CASE("the fourth send in a 3/60 window answers 429 with 4043 and Retry-After") {
    VerifydInstance v(Settings{{"VERIFYD_SEND_LIMITS", "3/60"}, {"VERIFYD_RESEND_COOLDOWN", "0"}});
    avoid_window_edge(60);
    const std::string to = us_number(6001);
    for (int i = 0; i < 3; ++i) {
        v.send_ok(v.key(kTestA), to);
    }
    json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 429, 4043);
    CHECK(error["retry_after"].get<int>() <= 60);
    // The refused fourth send did not supersede the third.
    json listed = require_success(v.get("/messages?to=%2B" + to.substr(1), v.key(kTestA)));
    CHECK(listed["messages"].size() == 3);

    // Limits are per account and number.
    v.send_ok(v.key(kTestA), us_number(6002));
    v.send_ok(v.key(kTestB), to);
}

TEST_CASE("the resend cooldown refuses a second send with the seconds left") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "30"}});
    const std::string to = us_number(6101);
    v.send_ok(v.key(kTestA), to);
    json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 429, 4043);
    // The cooldown counts from the send a moment ago.
    CHECK(error["retry_after"].get<int>() >= 28);
    CHECK(error["retry_after"].get<int>() <= 30);
    v.send_ok(v.key(kTestA), us_number(6102));
}

TEST_CASE("a refused send consumes neither the cooldown nor the window") {
    VerifydInstance v(Settings{{"VERIFYD_SEND_LIMITS", "2/60"}, {"VERIFYD_RESEND_COOLDOWN", "2"}});
    avoid_window_edge(60, 10);
    const std::string to = us_number(6201);
    v.send_ok(v.key(kTestA), to);
    for (int i = 0; i < 3; ++i) {
        json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 429, 4043);
        CHECK(error["retry_after"].get<int>() <= 2);
    }
    // Had the refused sends restarted the cooldown or counted in the window, this
    // second send would be refused.
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    v.send_ok(v.key(kTestA), to);

    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 429, 4043);
    // Now the 2/60 window refuses, for longer than the cooldown would.
    CHECK(error["retry_after"].get<int>() > 2);
    CHECK(error["retry_after"].get<int>() <= 60);
}

TEST_CASE("sandbox and live sends to one number are counted apart") {
    VerifydInstance v(Settings{{"VERIFYD_SEND_LIMITS", "2/60"}, {"VERIFYD_RESEND_COOLDOWN", "0"}});
    avoid_window_edge(60);
    const std::string to = us_number(6301);
    v.send_ok(v.key(kTestA), to);
    v.send_ok(v.key(kTestA), to);
    require_error(v.send(v.key(kTestA), {{"to", to}}), 429, 4043);

    // Each live code is delivered (asynchronously) before the next send could supersede it.
    json live = v.send_ok(v.key(kLiveA), to);
    CHECK(live["sandbox"] == false);
    v.live_code_from_log(live["message_id"]);
    json second = v.send_ok(v.key(kLiveA), to);
    v.live_code_from_log(second["message_id"]);
    require_error(v.send(v.key(kLiveA), {{"to", to}}), 429, 4043);
    // A live key asking for sandbox is counted with the sandbox sends.
    require_error(v.send(v.key(kLiveA), {{"to", to}, {"sandbox", true}}), 429, 4043);
    // The refused live send delivered nothing: the provider logged the two accepted ones.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::istringstream lines(v.log());
    std::string line;
    int deliveries = 0;
    while (std::getline(lines, line)) {
        // The provider's line carries the message's variables; other lines may name it.
        deliveries += line.find("\"message_id\"") != std::string::npos &&
                              line.find("\"variables\"") != std::string::npos
                          ? 1
                          : 0;
    }
    CHECK(deliveries == 2);
}

TEST_CASE("a key over its requests_per_minute answers 429 with 4029 and Retry-After") {
    VerifydInstance v;
    avoid_window_edge(60, 10);
    const std::string& limited = v.key(kLimited);
    json sent = v.send_ok(limited, us_number(6401));
    const std::string id = sent["id"];
    for (int i = 0; i < 4; ++i) {
        INFO("request " << i + 2);
        require_success(v.get_verification(limited, id));
    }
    json error = require_error(v.get_verification(limited, id), 429, 4029);
    CHECK(error["retry_after"].get<int>() <= 60);
    require_error(v.send(limited, {{"to", us_number(6402)}}), 429, 4029);
    require_error(v.check(limited, id, "123456"), 429, 4029);

    // Other keys have limits of their own.
    v.send_ok(v.key(kTestA), us_number(6403));
}

TEST_CASE("VERIFYD_KEY_RPM limits keys that have no requests_per_minute of their own") {
    VerifydInstance v(Settings{{"VERIFYD_KEY_RPM", "3"}});
    avoid_window_edge(60, 10);
    for (int i = 0; i < 3; ++i) {
        v.send_ok(v.key(kTestA), us_number(6421 + i));
    }
    require_error(v.send(v.key(kTestA), {{"to", us_number(6424)}}), 429, 4029);
    // The key with its own requests_per_minute (5) keeps it.
    for (int i = 0; i < 5; ++i) {
        v.send_ok(v.key(kLimited), us_number(6431 + i));
    }
    require_error(v.send(v.key(kLimited), {{"to", us_number(6436)}}), 429, 4029);
}

TEST_CASE("the per-key limit counts requests that are refused as invalid") {
    VerifydInstance v;
    avoid_window_edge(60, 10);
    const std::string& limited = v.key(kLimited);
    // Five authenticated requests that each fail validation, in five different ways.
    require_error(v.send(limited, {{"to", us_number(6451)}, {"channel", "SMS"}}), 400, 4000);
    require_error(v.send(limited, {{"to", "14155556451"}}), 400, 4001);
    require_error(v.check(limited, {{"id", "vrf_x"}, {"code", "12"}}), 400, 4000);
    require_error(v.get_verification(limited, "garbage"), 404, 4040);
    require_error(v.get("/messages?to=%2B14155556451&limit=0", limited), 400, 4000);
    json error = require_error(v.send(limited, {{"to", us_number(6451)}}), 429, 4029);
    CHECK(error["retry_after"].get<int>() <= 60);
}

TEST_CASE("per-number limits hold across two replicas sharing one Redis") {
    VerifydInstance v(Settings{{"VERIFYD_SEND_LIMITS", "3/60"}, {"VERIFYD_RESEND_COOLDOWN", "0"}});
    avoid_window_edge(60);
    HttpClient replica(v.start_replica());
    const std::string to = us_number(6501);
    const std::string& key = v.key(kTestA);
    require_success(post_json(replica, "/verify/send", key, {{"to", to}}), 201);
    v.send_ok(key, to);
    require_success(post_json(replica, "/verify/send", key, {{"to", to}}), 201);
    require_error(v.send(key, {{"to", to}}), 429, 4043);
    require_error(post_json(replica, "/verify/send", key, {{"to", to}}), 429, 4043);
}

TEST_CASE("the resend cooldown holds across two replicas sharing one Redis") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "30"}});
    HttpClient replica(v.start_replica());
    const std::string to = us_number(6601);
    v.send_ok(v.key(kTestA), to);
    require_error(post_json(replica, "/verify/send", v.key(kTestA), {{"to", to}}), 429, 4043);
}
