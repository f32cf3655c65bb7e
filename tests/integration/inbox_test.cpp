// The sandbox inbox (§13) over HTTP: GET /messages without `to` lists an account's
// sandbox messages across numbers, newest first, with their states as they move; and
// GET /sandbox serves the page that shows them, locked down. The page in a real
// browser: sandbox_browser_test.cpp.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <thread>

#include "support/api_checks.hpp"
#include "support/twilio_client.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

json inbox(VerifydInstance& v, const std::string& key, const std::string& query = "") {
    return require_success(v.get("/messages" + query, key))["messages"];
}

std::vector<std::string> ids_of(const json& messages) {
    std::vector<std::string> ids;
    for (const json& message : messages) ids.push_back(message["id"]);
    return ids;
}

}  // namespace

TEST_CASE(
    "in sandbox mode GET /messages without to lists the account's newest sandbox messages, "
    "across numbers, newest first, with since for the newer ones") {
    VerifydInstance v;
    const std::string key = v.key(kTestA);
    std::vector<std::string> sent;  // message ids, oldest first
    for (int i = 0; i < 3; ++i) sent.push_back(v.send_ok(key, us_number(5101 + i))["message_id"]);

    const json all = inbox(v, key);
    CHECK(ids_of(all) == std::vector<std::string>{sent[2], sent[1], sent[0]});
    CHECK(all[0]["to"] == us_number(5103));
    CHECK(all[0]["template"]["variables"]["code"].get<std::string>().size() == 6);
    CHECK(all[0]["verification_status"] == "pending");
    CHECK(all[0]["attempts_remaining"] == 5);

    CHECK(ids_of(inbox(v, key, "?limit=2")) == std::vector<std::string>{sent[2], sent[1]});
    CHECK(ids_of(inbox(v, key, "?since=" + sent[0])) == std::vector<std::string>{sent[2], sent[1]});
    CHECK(inbox(v, key, "?since=" + sent[2]).empty());

    const json refused = require_error(v.get("/messages?since=vrf_x", key), 400, 4000);
    CHECK_FALSE(require_detail(refused, "since").empty());
    require_error(
        v.get("/messages?to=" + us_number(5101).replace(0, 1, "%2B") + "&since=" + sent[0], key),
        400, 4000);
}

TEST_CASE(
    "sandbox messages that arrive while their account's inbox put is in flight are put "
    "together by the next call, each listed once") {
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "5000"}});
    const std::string key = v.key(kTestA);
    RedisServer& redis = v.redis();
    redis.log_every_command();
    // Redis holds every script for the pause: the first message's put stays in flight
    // while the others' sends arrive.
    redis.command({"CLIENT", "PAUSE", "700", "WRITE"});
    constexpr int kSends = 10;
    std::vector<std::string> sent(kSends);
    std::vector<std::thread> threads;
    for (int i = 0; i < kSends; ++i)
        threads.emplace_back([&, i] {
            HttpClient client = v.client();
            HttpResponse r = post_json(client, "/verify/send", key, {{"to", us_number(5301 + i)}});
            if (r.status == 201) sent[i] = r.json()["data"]["message_id"];
        });
    for (auto& thread : threads) thread.join();
    const auto calls = redis.script_calls("inbox_put");

    std::vector<std::string> listed = ids_of(inbox(v, key));
    std::sort(listed.begin(), listed.end());
    std::sort(sent.begin(), sent.end());
    CHECK(listed == sent);
    int put = 0;
    // FCALL, its name, 1, the inbox, its size and lifetime, then a ref and a time per
    // message (ten of them stay within the 32 arguments the log keeps).
    for (const auto& args : calls) put += (static_cast<int>(args.size()) - 6) / 2;
    CHECK(put == kSends);
    CHECK(calls.size() < static_cast<size_t>(kSends));
}

TEST_CASE(
    "sandbox messages created within one millisecond are listed in the order they reached the "
    "inbox, and since any of them lists exactly those after it") {
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "5000"}});
    const std::string key = v.key(kTestA);
    // Redis holds the sends for the pause and then runs them back to back: several are
    // created in the same millisecond.
    v.redis().command({"CLIENT", "PAUSE", "500", "WRITE"});
    constexpr int kSends = 10;  // a listing's default limit
    std::vector<std::thread> threads;
    for (int i = 0; i < kSends; ++i)
        threads.emplace_back([&, i] {
            HttpClient client = v.client();
            post_json(client, "/verify/send", key, {{"to", us_number(5601 + i)}});
        });
    for (auto& thread : threads) thread.join();

    const std::vector<std::string> listed = ids_of(inbox(v, key));
    REQUIRE(listed.size() == kSends);
    for (size_t i = 0; i < listed.size(); ++i) {
        INFO("since the message listed at " << i);
        CHECK(ids_of(inbox(v, key, "?since=" + listed[i])) ==
              std::vector<std::string>(listed.begin(), listed.begin() + i));
    }
}

TEST_CASE(
    "a sandbox send whose inbox put fails answers as created, stays listed by its number, "
    "and the log names the message") {
    VerifydInstance v;
    const std::string key = v.key(kTestA);
    v.send_ok(key, us_number(5501));
    std::string inbox_key;
    for (const std::string& name : v.redis().keys())
        if (name.rfind("m:{", 0) == 0) inbox_key = name;
    REQUIRE_FALSE(inbox_key.empty());
    // A string where the inbox's sorted set belongs: the next put's ZADD fails (WRONGTYPE).
    REQUIRE(v.redis().command({"SET", inbox_key, "not a sorted set"}).str == "OK");

    const json sent = v.send_ok(key, us_number(5502));
    const json listed =
        require_success(v.get("/messages?to=%2B" + us_number(5502).substr(1), key))["messages"];
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["id"] == sent["message_id"]);
    REQUIRE(wait_for_log_lines(v.process(), "warn", "not put in its account's inbox", 1,
                               std::chrono::seconds(10)));
    const std::string log = v.log();
    CHECK(log.find(sent["message_id"].get<std::string>()) != std::string::npos);
    CHECK(log.find("WRONGTYPE") != std::string::npos);
}

TEST_CASE(
    "the inbox is the account's sandbox only: another account sees none of it, a live key must "
    "name to") {
    VerifydInstance v;
    v.send_ok(v.key(kTestA), us_number(5201));
    // A live key's sandbox send is sandbox: it is in the account's inbox too.
    v.send_ok(v.key(kLiveA), us_number(5202), {{"sandbox", true}});
    CHECK(inbox(v, v.key(kTestA)).size() == 2);
    CHECK(inbox(v, v.key(kLiveA), "?sandbox=true").size() == 2);
    CHECK(inbox(v, v.key(kTestB)).empty());
    const json refused = require_error(v.get("/messages", v.key(kLiveA)), 400, 4000);
    CHECK_FALSE(require_detail(refused, "to").empty());
}

TEST_CASE("the inbox shows each verification's state and attempts as they change") {
    VerifydInstance v;
    const std::string key = v.key(kTestA);
    const json sent = v.send_ok(key, us_number(5301));
    const std::string code = v.sandbox_code(key, sent["id"]);
    require_success(v.check(key, sent["id"], code == "000000" ? "111111" : "000000"));
    CHECK(inbox(v, key)[0]["attempts_remaining"] == 4);
    require_success(v.check(key, sent["id"], code));
    const json approved = inbox(v, key)[0];
    CHECK(approved["verification_status"] == "approved");
    CHECK(approved["template"]["variables"]["code"] == code);
}

TEST_CASE("a sandbox send through the Twilio face is in the inbox with its code") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    HttpResponse service = client.request("POST", "/v2/Services", "FriendlyName=Acme");
    REQUIRE(service.status == 201);
    HttpResponse sent = client.request(
        "POST", "/v2/Services/" + service.json()["sid"].get<std::string>() + "/Verifications",
        "To=%2B14155555301&Channel=sms");
    REQUIRE(sent.status == 201);
    const json messages = inbox(v, v.key(kTestA));
    REQUIRE(messages.size() == 1);
    CHECK(messages[0]["to"] == "+14155555301");
    CHECK(messages[0]["template"]["variables"]["app_name"] == "Acme");
    CHECK(messages[0]["template"]["variables"]["code"].get<std::string>().size() == 6);
}

TEST_CASE(
    "GET /sandbox serves the page and its own files only, under a Content-Security-Policy, never "
    "framed") {
    VerifydInstance v;
    const HttpResponse page = v.get("/sandbox");
    REQUIRE(page.status == 200);
    CHECK(page.header("Content-Type").value_or("").rfind("text/html", 0) == 0);
    const std::string policy = page.header("Content-Security-Policy").value_or("");
    CHECK(policy.find("default-src 'none'") != std::string::npos);
    CHECK(policy.find("script-src 'self'") != std::string::npos);
    CHECK(policy.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(page.header("X-Frame-Options") == std::optional<std::string>("DENY"));
    for (const char* hook : {"api-key", "connect", "filter-to", "message", "copy-code", "error"})
        CHECK(page.body.find(std::string("data-testid=\"") + hook + "\"") != std::string::npos);
    CHECK(page.body.find("name=\"viewport\"") != std::string::npos);

    const HttpResponse script = v.get("/sandbox/app.js");
    REQUIRE(script.status == 200);
    CHECK(script.header("Content-Type").value_or("").rfind("text/javascript", 0) == 0);
    const HttpResponse style = v.get("/sandbox/app.css");
    REQUIRE(style.status == 200);
    CHECK(style.header("Content-Type").value_or("").rfind("text/css", 0) == 0);
    // Nothing from another origin, and the key only in sessionStorage and a header.
    const std::regex elsewhere(R"((https?:)?//[a-z0-9.-]+\.[a-z]{2,})");
    for (const HttpResponse* asset : {&page, &script, &style})
        CHECK_FALSE(std::regex_search(asset->body, elsewhere));
    for (const char* never : {"localStorage", "document.cookie", "EventSource"})
        CHECK(script.body.find(never) == std::string::npos);
    CHECK(script.body.find("sessionStorage") != std::string::npos);

    require_error(v.get("/sandbox/other.js"), 404, 4000);
}

TEST_CASE("VERIFYD_SANDBOX_UI=off removes the page but not the listing") {
    VerifydInstance v(Settings{{"VERIFYD_SANDBOX_UI", "off"}});
    require_error(v.get("/sandbox"), 404, 4000);
    require_error(v.get("/sandbox/app.js"), 404, 4000);
    v.send_ok(v.key(kTestA), us_number(5401));
    CHECK(inbox(v, v.key(kTestA)).size() == 1);
}
