// Concurrency (§4 check, §5.2): simultaneous requests, each thread on its own connection,
// are decided atomically by Redis.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

constexpr int kThreads = 20;

struct Outcome {
    int status = 0;
    json body;
    std::string failure;  // a transport error, if any
};

// Sends `body` to `path` from kThreads threads at once, each on a connection it opened
// beforehand, and returns every answer.
std::vector<Outcome> post_simultaneously(VerifydInstance& v, const std::string& path,
                                         const std::string& key, const json& body) {
    std::vector<HttpClient> clients;
    for (int i = 0; i < kThreads; ++i) {
        clients.push_back(v.client());
        // Connecting now keeps connection setup out of the race.
        REQUIRE(clients.back().get("/healthz").status == 200);
    }
    std::vector<Outcome> outcomes(kThreads);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            ready.fetch_add(1);
            while (!go.load()) {
                std::this_thread::yield();
            }
            try {
                HttpResponse response = post_json(clients[i], path, key, body);
                outcomes[i].status = response.status;
                outcomes[i].body = response.json();
            } catch (const std::exception& e) {
                outcomes[i].failure = e.what();
            }
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (ready.load() < kThreads && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    go.store(true);
    for (auto& thread : threads) {
        thread.join();
    }
    for (const auto& outcome : outcomes) {
        INFO("transport failure: " << outcome.failure);
        REQUIRE(outcome.failure.empty());
    }
    return outcomes;
}

int error_code(const Outcome& outcome) {
    if (!outcome.body.is_object() || !outcome.body.contains("error")) {
        return 0;
    }
    return outcome.body["error"].value("code", 0);
}

std::string summary(const std::vector<Outcome>& outcomes) {
    std::map<std::string, int> counts;
    for (const auto& outcome : outcomes) {
        std::string what = std::to_string(outcome.status);
        if (int code = error_code(outcome)) {
            what += "/" + std::to_string(code);
        } else if (outcome.body.is_object() && outcome.body.contains("data")) {
            what += "/" + outcome.body["data"].value("status", "?");
        }
        ++counts[what];
    }
    std::string text;
    for (const auto& [what, count] : counts) {
        text += what + " x" + std::to_string(count) + "  ";
    }
    return text;
}

}  // namespace

TEST_CASE("of 20 simultaneous checks with the right code exactly one is approved") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(8001));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    auto outcomes = post_simultaneously(v, "/verify/check", v.key(kTestA),
                                        {{"id", sent["id"]}, {"code", code}});
    INFO(summary(outcomes));
    int approved = 0;
    int not_found = 0;
    for (const auto& outcome : outcomes) {
        if (outcome.status == 200 && outcome.body["data"].value("status", "") == "approved") {
            ++approved;
        } else if (outcome.status == 404 && error_code(outcome) == 4040) {
            ++not_found;
        }
    }
    CHECK(approved == 1);
    CHECK(not_found == kThreads - 1);
}

TEST_CASE("of 20 simultaneous checks with a wrong code exactly five are counted") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(8101));
    std::string wrong = v.sandbox_code(v.key(kTestA), sent["id"]);
    wrong[0] = wrong[0] == '1' ? '2' : '1';
    auto outcomes = post_simultaneously(v, "/verify/check", v.key(kTestA),
                                        {{"id", sent["id"]}, {"code", wrong}});
    INFO(summary(outcomes));
    std::multiset<int> remaining;
    int locked_out = 0;
    for (const auto& outcome : outcomes) {
        if (outcome.status == 200) {
            CHECK(outcome.body["data"]["verified"] == false);
            remaining.insert(outcome.body["data"].value("attempts_remaining", -1));
        } else if (outcome.status == 429 && error_code(outcome) == 4042) {
            ++locked_out;
        }
    }
    CHECK(remaining == std::multiset<int>{0, 1, 2, 3, 4});
    CHECK(locked_out == kThreads - 5);
    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read["attempts"] == 5);
    CHECK(read.value("status", "") == "locked");
}

TEST_CASE("of 20 simultaneous sends to one number within a 3/600 limit exactly three succeed") {
    VerifydInstance v(Settings{{"VERIFYD_SEND_LIMITS", "3/600"}, {"VERIFYD_RESEND_COOLDOWN", "0"}});
    avoid_window_edge(600);
    const std::string to = us_number(8201);
    auto outcomes = post_simultaneously(v, "/verify/send", v.key(kTestA), {{"to", to}});
    INFO(summary(outcomes));
    int created = 0;
    int limited = 0;
    for (const auto& outcome : outcomes) {
        if (outcome.status == 201) {
            ++created;
        } else if (outcome.status == 429 && error_code(outcome) == 4043) {
            ++limited;
        }
    }
    CHECK(created == 3);
    CHECK(limited == kThreads - 3);

    // Of the three, only the newest is still pending: each supersedes the one before.
    json listed = require_success(v.get("/messages?to=%2B" + to.substr(1), v.key(kTestA)));
    REQUIRE(listed["messages"].size() == 3);
    int pending = 0;
    for (const auto& message : listed["messages"]) {
        json read = require_success(
            v.get_verification(v.key(kTestA), message["verification_id"].get<std::string>()));
        pending += read.value("status", "") == "pending" ? 1 : 0;
    }
    CHECK(pending == 1);
}

TEST_CASE("simultaneous sends to different numbers all succeed") {
    VerifydInstance v;
    std::vector<HttpClient> clients;
    std::vector<Outcome> outcomes(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        clients.push_back(v.client());
    }
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            try {
                HttpResponse response = post_json(clients[i], "/verify/send", v.key(kTestA),
                                                  {{"to", us_number(8300 + i)}});
                outcomes[i].status = response.status;
            } catch (const std::exception& e) {
                outcomes[i].failure = e.what();
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (const auto& outcome : outcomes) {
        INFO("failure: " << outcome.failure);
        CHECK(outcome.status == 201);
    }
}
