// Idempotency-Key on send, check and cancel (§9): a retry gets the first answer and runs
// nothing again; a reused key, or one still in flight, answers 4009; a 503 is never kept:
// an answer lost to a WAIT that fell short is the retry's answer (4029: the unit tests).
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "support/api_checks.hpp"
#include "support/redis_server.hpp"
#include "support/sentinel_cluster.hpp"
#include "support/temp_dir.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using namespace std::chrono;

namespace {

Headers with_key(const std::string& key) {
    return {{"Idempotency-Key", key}};
}

bool replayed(const HttpResponse& response) {
    return response.header("Idempotent-Replayed").value_or("") == "true";
}

// How many of the log provider's delivery lines (those with "variables") name `message_id`.
size_t deliveries_logged(const VerifydInstance& v, const std::string& message_id) {
    const std::string log = v.log();
    size_t count = 0;
    for (size_t at = log.find(message_id); at != std::string::npos;
         at = log.find(message_id, at + 1)) {
        const size_t line_start = log.rfind('\n', at) + 1;
        const size_t line_end = log.find('\n', at);
        if (log.substr(line_start, line_end - line_start).find("\"variables\"") !=
            std::string::npos)
            ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("a replayed send answers the first verification and sends one message") {
    VerifydInstance v;
    const json body = {{"to", us_number(32001)}};
    HttpResponse first = v.post("/verify/send", v.key(kLiveA), body, with_key("login-1"));
    json created = require_success(first, 201);
    CHECK_FALSE(replayed(first));
    // Same body, other white space and key order: the same request.
    HttpResponse again =
        v.post_raw("/verify/send", v.key(kLiveA), "{ \"to\" : \"" + us_number(32001) + "\" }",
                   with_key("login-1"));
    json replay = require_success(again, 201);
    CHECK(replayed(again));
    CHECK(replay["id"] == created["id"]);
    CHECK(replay["created_at"] == created["created_at"]);
    v.live_code_from_log(created["message_id"]);
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(deliveries_logged(v, created["message_id"]) == 1);
    json messages =
        require_success(v.get("/messages?to=%2B" + us_number(32001).substr(1), v.key(kLiveA)));
    CHECK(messages["messages"].size() == 1);
}

TEST_CASE("a replayed wrong check counts one attempt and a retried right check answers approved") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(32002));
    const std::string id = sent["id"];
    const std::string code = v.sandbox_code(v.key(kTestA), id);
    const std::string wrong = code == "000000" ? "111111" : "000000";
    for (int i = 0; i < 3; ++i) {
        HttpResponse response = v.post("/verify/check", v.key(kTestA),
                                       {{"id", id}, {"code", wrong}}, with_key("wrong-1"));
        json data = require_success(response);
        CHECK(data["attempts_remaining"] == 4);
        CHECK(replayed(response) == (i > 0));
    }
    CHECK(require_success(v.get_verification(v.key(kTestA), id))["attempts"] == 1);
    for (int i = 0; i < 2; ++i) {
        HttpResponse response =
            v.post("/verify/check", v.key(kTestA), {{"to", us_number(32002)}, {"code", code}},
                   with_key("right-1"));
        json data = require_success(response);
        CHECK(data["status"] == "approved");
        CHECK(data["verified"] == true);
        CHECK(replayed(response) == (i > 0));
    }
    // Without the key, the spent verification answers as gone.
    require_error(v.check(v.key(kTestA), id, code), 404, 4040);
}

TEST_CASE("16 concurrent sends with one Idempotency-Key make one verification") {
    VerifydInstance v;
    std::vector<std::future<HttpResponse>> answers;
    for (int i = 0; i < 16; ++i) {
        answers.push_back(std::async(std::launch::async, [&v] {
            HttpClient client = v.client();
            return client.request("POST", "/verify/send",
                                  {{"Authorization", "Bearer " + v.key(kTestA)},
                                   {"Content-Type", "application/json"},
                                   {"Idempotency-Key", "burst"}},
                                  json{{"to", us_number(32003)}}.dump());
        }));
    }
    std::set<std::string> ids;
    for (auto& answer : answers) {
        HttpResponse response = answer.get();
        INFO(response.status << " " << response.body);
        if (response.status == 201) {
            ids.insert(response.json()["data"]["id"].get<std::string>());
        } else {
            json error = require_error(response, 409, 4009);
            CHECK(error["retry_after"] == 1);
        }
    }
    CHECK(ids.size() == 1);
    json messages =
        require_success(v.get("/messages?to=%2B" + us_number(32003).substr(1), v.key(kTestA)));
    CHECK(messages["messages"].size() == 1);
}

TEST_CASE("concurrent requests with many Idempotency-Keys each get their own key's answer") {
    VerifydInstance v;
    // Keys with a history: eight sends created, eight refusals kept.
    std::vector<std::string> created_ids;
    for (int i = 0; i < 8; ++i) {
        const std::string key = "made-" + std::to_string(i);
        created_ids.push_back(require_success(
            v.post("/verify/send", v.key(kTestA), {{"to", us_number(32100 + i)}}, with_key(key)),
            201)["id"]);
        require_error(v.post("/verify/send", v.key(kTestA), {{"to", "+442071838750"}},
                             with_key("refused-" + std::to_string(i))),
                      400, 4001);
    }
    // Then, from 48 clients at once, each key again as first sent (replayed), each with
    // another body (4009, no retry_after), and new keys (created).
    constexpr int kClients = 48;
    std::vector<std::future<std::vector<std::string>>> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.push_back(std::async(std::launch::async, [&v, &created_ids, c] {
            HttpClient client = v.client();
            std::vector<std::string> problems;
            for (int round = 0; round < 6; ++round) {
                const int i = (c + round) % 8;
                const int kind = (c + round) % 4;
                std::string key = "made-" + std::to_string(i);
                json body = {{"to", us_number(32100 + i)}};
                if (kind == 1) body = {{"to", us_number(32200 + i)}};
                if (kind == 2) key = "new-" + std::to_string(c) + "-" + std::to_string(round);
                if (kind == 2) body = {{"to", us_number(33000 + c * 10 + round)}};
                if (kind == 3) key = "refused-" + std::to_string(i);
                if (kind == 3) body = {{"to", "+442071838750"}};
                HttpResponse answer = client.request("POST", "/verify/send",
                                                     {{"Authorization", "Bearer " + v.key(kTestA)},
                                                      {"Content-Type", "application/json"},
                                                      {"Idempotency-Key", key}},
                                                     body.dump());
                const json parsed = json::parse(answer.body, nullptr, false);
                const bool again = replayed(answer);
                bool right = false;
                if (kind == 0)
                    right = answer.status == 201 && again &&
                            parsed["data"]["id"] == created_ids[static_cast<size_t>(i)];
                if (kind == 1)
                    right = answer.status == 409 && parsed["error"]["code"] == 4009 &&
                            !parsed["error"].contains("retry_after");
                if (kind == 2) right = answer.status == 201 && !again;
                if (kind == 3)
                    right = answer.status == 400 && again && parsed["error"]["code"] == 4001;
                if (!right)
                    problems.push_back("kind " + std::to_string(kind) + " key " + key + ": " +
                                       std::to_string(answer.status) + " " + answer.body);
            }
            return problems;
        }));
    }
    for (auto& client : clients)
        for (const std::string& problem : client.get()) FAIL_CHECK(problem);
    // The new keys each made one verification, the others none.
    for (int c = 0; c < kClients; ++c)
        for (int round = 0; round < 6; ++round) {
            if ((c + round) % 4 != 2) continue;
            json listed = require_success(v.get(
                "/messages?to=%2B" + us_number(33000 + c * 10 + round).substr(1), v.key(kTestA)));
            CHECK(listed["messages"].size() == 1);
        }
    for (int i = 0; i < 8; ++i) {
        json listed = require_success(
            v.get("/messages?to=%2B" + us_number(32200 + i).substr(1), v.key(kTestA)));
        CHECK(listed["messages"].empty());
    }
}

TEST_CASE("an Idempotency-Key used with another request answers 4009 and changes nothing") {
    VerifydInstance v;
    require_success(
        v.post("/verify/send", v.key(kTestA), {{"to", us_number(32004)}}, with_key("reused")), 201);
    json error = require_error(
        v.post("/verify/send", v.key(kTestA), {{"to", us_number(32005)}}, with_key("reused")), 409,
        4009);
    CHECK_FALSE(error.contains("retry_after"));
    json listed =
        require_success(v.get("/messages?to=%2B" + us_number(32005).substr(1), v.key(kTestA)));
    CHECK(listed["messages"].empty());
    // A key is the endpoint's, the mode's and the account's: elsewhere it is new.
    require_success(
        v.post("/verify/send", v.key(kTestB), {{"to", us_number(32005)}}, with_key("reused")), 201);
    require_success(
        v.post("/verify/send", v.key(kLiveA), {{"to", us_number(32005)}}, with_key("reused")), 201);
}

TEST_CASE("a refused request's answer is kept for its key") {
    VerifydInstance v;
    // A London landline cannot receive a code.
    HttpResponse first =
        v.post("/verify/send", v.key(kTestA), {{"to", "+442071838750"}}, with_key("bad-1"));
    require_error(first, 400, 4001);
    HttpResponse again =
        v.post("/verify/send", v.key(kTestA), {{"to", "+442071838750"}}, with_key("bad-1"));
    require_error(again, 400, 4001);
    CHECK(replayed(again));
    // The key is spent on that request: another body with it is a conflict.
    require_error(
        v.post("/verify/send", v.key(kTestA), {{"to", "+447911123456"}}, with_key("bad-1")), 409,
        4009);
}

TEST_CASE("a refusal kept for a key stays its answer after the rule that refused is lifted") {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    replace_file(policy, R"({"default": {"countries": {"allow": ["US"]}}})");
    VerifydInstance v(Settings{{"VERIFYD_POLICY_FILE", policy}});
    require_error(v.post("/verify/send", v.key(kTestA), {{"to", "+33612345678"}}, with_key("fr-1")),
                  403, 4031);

    replace_file(policy, R"({"default": {"countries": {"allow": ["US", "FR"]}}})");
    REQUIRE(wait_until(
        [&] {
            return v.send(v.key(kTestA), {{"to", "+33612345679"}}).status == 201;
        },
        seconds(5)));
    // The retry now passes every rule, reaches the send's script and gets the kept refusal.
    HttpResponse again =
        v.post("/verify/send", v.key(kTestA), {{"to", "+33612345678"}}, with_key("fr-1"));
    require_error(again, 403, 4031);
    CHECK(replayed(again));
    CHECK(require_success(v.get("/messages?to=%2B33612345678", v.key(kTestA)))["messages"].empty());
}

TEST_CASE("on one Redis a check with an Idempotency-Key is one script call, its claim included") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(32009));
    v.redis().log_every_command();
    HttpResponse first = v.post("/verify/check", v.key(kTestA),
                                {{"id", sent["id"]}, {"code", "0000000"}}, with_key("one-call"));
    require_success(first);
    CHECK(v.redis().script_calls("idempotency_claim").empty());
    const auto checks = v.redis().script_calls("check");
    REQUIRE(checks.size() == 1);
    // FCALL, the function, the number of keys, then the keys: the claim i:{…} among them.
    const auto& call = checks.front();
    const size_t key_count = std::stoul(call.at(2));
    const auto claim = std::find_if(call.begin() + 3, call.begin() + 3 + key_count,
                                    [](const std::string& k) { return k.rfind("i:{", 0) == 0; });
    CHECK(claim != call.begin() + 3 + key_count);
    // And it keeps the key as the claim call does: another body with it is a conflict.
    require_error(v.post("/verify/check", v.key(kTestA), {{"id", sent["id"]}, {"code", "1111111"}},
                         with_key("one-call")),
                  409, 4009);
}

TEST_CASE("a malformed Idempotency-Key answers 4000 naming the header") {
    VerifydInstance v;
    for (const std::string& key :
         {std::string("has space"), std::string(256, 'a'), std::string("semi;colon")}) {
        INFO("key: " << key);
        json error = require_error(
            v.post("/verify/send", v.key(kTestA), {{"to", us_number(32006)}}, with_key(key)), 400,
            4000);
        require_detail(error, "Idempotency-Key");
    }
    require_success(v.post("/verify/send", v.key(kTestA), {{"to", us_number(32006)}},
                           with_key(std::string(255, 'a'))),
                    201);
}

TEST_CASE("a replayed cancel answers the first cancel") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(32007));
    const std::string path = "/verify/" + sent["id"].get<std::string>() + "/cancel";
    json first = require_success(v.post(path, v.key(kTestA), json::object(), with_key("c-1")));
    CHECK(first["status"] == "canceled");
    HttpResponse again = v.post(path, v.key(kTestA), json::object(), with_key("c-1"));
    CHECK(require_success(again)["status"] == "canceled");
    CHECK(replayed(again));
    require_error(v.cancel(v.key(kTestA), sent["id"]), 404, 4040);
}

TEST_CASE(
    "a check whose WAIT falls short answers 503 and its retry answers the recorded "
    "approval") {
    SentinelCluster cluster(1);
    VerifydInstance v(Settings{
        {"VERIFYD_REDIS_URL", "redis://127.0.0.1:" + std::to_string(cluster.node_port(0)) + "/0"},
        {"VERIFYD_REDIS_WAIT_REPLICAS", "1"},
        // Long enough for a replica on a loaded machine: only the stopped one falls short.
        {"VERIFYD_REDIS_WAIT_TIMEOUT_MS", "1000"}});
    json sent = v.send_ok(v.key(kTestA), us_number(32008));
    const std::string id = sent["id"];
    const std::string code = v.sandbox_code(v.key(kTestA), id);

    // The replica stops acknowledging while it is stopped.
    const std::string info = redis_command(cluster.node_port(1), {"INFO", "server"}).str;
    const size_t at = info.find("process_id:");
    REQUIRE(at != std::string::npos);
    const pid_t replica = static_cast<pid_t>(std::stol(info.substr(at + 11)));
    REQUIRE(kill(replica, SIGSTOP) == 0);
    HttpResponse lost = v.post("/verify/check", v.key(kTestA), {{"id", id}, {"code", code}},
                               with_key("lost-answer"));
    REQUIRE(kill(replica, SIGCONT) == 0);
    require_error(lost, 503, 5000);

    const auto give_up = steady_clock::now() + seconds(5);
    HttpResponse retry;
    do {
        retry = v.post("/verify/check", v.key(kTestA), {{"id", id}, {"code", code}},
                       with_key("lost-answer"));
    } while (retry.status == 503 && steady_clock::now() < give_up);
    json data = require_success(retry);
    CHECK(data["status"] == "approved");
    CHECK(replayed(retry));
}
