// The API's Redis lanes (redis_lane.hpp): HTTP threads hand their Redis calls over and
// go on, replies find their own requests however many are in flight, and changes that
// must reach replicas share one WAIT while another blocks the connection.
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

namespace {

// How many WAIT commands Redis has run since its statistics were reset.
long long wait_calls(VerifydInstance& v) {
    const std::string stats = v.redis().command({"INFO", "commandstats"}).str;
    const std::string marker = "cmdstat_wait:calls=";
    size_t at = stats.find(marker);
    return at == std::string::npos ? 0 : std::atoll(stats.c_str() + at + marker.size());
}

}  // namespace

TEST_CASE("with one HTTP thread, a request waiting for Redis does not hold up the next") {
    // No replica exists, so the send's WAIT blocks for its whole timeout.
    VerifydInstance v(Settings{{"VERIFYD_THREADS", "1"},
                               {"VERIFYD_REDIS_WAIT_REPLICAS", "1"},
                               {"VERIFYD_REDIS_WAIT_TIMEOUT_MS", "1500"}});
    const std::string key = v.key(kTestA);
    HttpClient waiting_client = v.client();
    REQUIRE(waiting_client.get("/healthz").status == 200);
    auto waiting = std::async(std::launch::async, [&] {
        return post_json(waiting_client, "/verify/send", key, {{"to", us_number(6001)}});
    });
    std::this_thread::sleep_for(milliseconds(200));

    const auto start = Clock::now();
    CHECK(v.get("/healthz").status == 200);
    CHECK(Clock::now() - start < milliseconds(700));
    CHECK(waiting.wait_for(milliseconds(0)) == std::future_status::timeout);
    require_error(waiting.get(), 503, 5000);
}

TEST_CASE("changes that arrive while a WAIT blocks are acknowledged by one WAIT together") {
    VerifydInstance v(
        Settings{{"VERIFYD_REDIS_WAIT_REPLICAS", "1"}, {"VERIFYD_REDIS_WAIT_TIMEOUT_MS", "600"}});
    const std::string key = v.key(kTestA);
    constexpr int kSenders = 10;
    std::vector<HttpClient> clients;
    for (int i = 0; i < kSenders; ++i) {
        clients.push_back(v.client());
        REQUIRE(clients.back().get("/healthz").status == 200);
    }
    REQUIRE(v.redis().command({"CONFIG", "RESETSTAT"}).str == "OK");

    std::vector<std::future<HttpResponse>> answers;
    for (int i = 0; i < kSenders; ++i) {
        answers.push_back(std::async(std::launch::async, [&, i] {
            return post_json(clients[i], "/verify/send", key, {{"to", us_number(6100 + i)}});
        }));
    }
    // No replica acknowledges: each is refused, none is lost track of.
    for (auto& answer : answers) require_error(answer.get(), 503, 5000);
    // One WAIT per send would be ten; the first blocks while the rest arrive.
    const long long waits = wait_calls(v);
    INFO(waits << " WAIT commands for " << kSenders << " sends");
    CHECK(waits >= 1);
    CHECK(waits <= 3);
}

TEST_CASE("every answer goes to its own request while many are in flight") {
    // What is measured is which answer each request gets, not how fast: a loaded machine
    // must not turn a slow Redis answer into a 503.
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "3000"}});
    const std::string key = v.key(kTestA);
    constexpr int kClients = 16;
    constexpr int kRounds = 30;
    std::vector<HttpClient> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(v.client());
    std::atomic<int> mismatches{0};
    std::atomic<int> failures{0};
    std::string first_failure;  // written once, by the thread whose failure was the first
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
        threads.emplace_back([&, c] {
            for (int round = 0; round < kRounds; ++round) {
                const std::string to = us_number(2000 + c * kRounds + round);
                HttpResponse sent = post_json(clients[c], "/verify/send", key, {{"to", to}});
                if (sent.status != 201) {
                    if (failures++ == 0)
                        first_failure = std::to_string(sent.status) + " " + sent.body;
                    continue;
                }
                const json data = json::parse(sent.body)["data"];
                if (data["to"] != to) ++mismatches;
                // By number: two Redis calls in a row for one request.
                HttpResponse checked =
                    post_json(clients[c], "/verify/check", key, {{"to", to}, {"code", "000000"}});
                const json outcome = json::parse(checked.body);
                if (checked.status != 200 || outcome["data"]["id"] != data["id"] ||
                    outcome["data"]["to"] != to)
                    ++mismatches;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    INFO("the first failed send answered " << first_failure);
    CHECK(failures == 0);
    CHECK(mismatches == 0);
}
