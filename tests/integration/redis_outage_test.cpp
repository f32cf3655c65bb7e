// Redis outages (§2 code 5000, §4 health): while Redis is gone or silent, requests fail
// fast with 503 and retry_after, /readyz says so, /healthz and the process stay up;
// once Redis is back, verifyd serves again without a restart.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "support/api_checks.hpp"
#include "support/failover_traffic.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// Every kind of request that needs Redis answers 503/5000, each within a second.
void require_unavailable(VerifydInstance& v, const json& sent) {
    const std::string& key = v.key(kTestA);
    const std::string id = sent["id"];
    struct Request {
        std::string name;
        std::function<HttpResponse()> run;
    };
    const std::vector<Request> requests = {
        {"send",
         [&] {
             return v.send(key, {{"to", us_number(9099)}});
         }},
        {"check", [&] { return v.check(key, id, "123456"); }},
        {"read", [&] { return v.get_verification(key, id); }},
        {"cancel", [&] { return v.cancel(key, id); }},
        {"message",
         [&] { return v.get("/messages/" + sent["message_id"].get<std::string>(), key); }},
        {"list", [&] { return v.get("/messages?to=%2B14155559099", key); }},
    };
    for (const auto& request : requests) {
        INFO(request.name);
        const auto start = Clock::now();
        HttpResponse response = request.run();
        const auto elapsed = Clock::now() - start;
        CHECK(elapsed < std::chrono::seconds(1));
        require_error(response, 503, 5000);
    }
    const auto start = Clock::now();
    HttpResponse ready = v.get("/readyz");
    CHECK(Clock::now() - start < std::chrono::seconds(1));
    CHECK(ready.status == 503);
    CHECK(v.get("/healthz").status == 200);
    CHECK(v.process().running());
}

// How many verifyd function libraries Redis holds: verifyd_ and 12 hex digits, where
// function names go on with _<script>.
long verifyd_libraries(VerifydInstance& v) {
    const auto leaves = v.redis().command({"FUNCTION", "LIST"}).leaves();
    return std::count_if(leaves.begin(), leaves.end(), [](const std::string& leaf) {
        return leaf.rfind("verifyd_", 0) == 0 && leaf.size() == 20;
    });
}

// Polls (bounded) until a send succeeds and /readyz answers 200 again.
void require_recovery(VerifydInstance& v) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    int send_status = 0;
    int ready_status = 0;
    for (int i = 0; Clock::now() < deadline; ++i) {
        send_status = v.send(v.key(kTestA), {{"to", us_number(9100 + i)}}).status;
        ready_status = v.get("/readyz").status;
        if (send_status == 201 && ready_status == 200) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(send_status == 201);
    CHECK(ready_status == 200);
}

}  // namespace

TEST_CASE("while Redis is down requests answer 503 with 5000 fast and health stays up") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(9001));
    v.redis().kill();
    require_unavailable(v, sent);
    // Twice: a connection that failed once must not make later requests slower.
    require_unavailable(v, sent);

    HttpResponse metrics = v.get("/metrics");
    CHECK(metrics.body.find("verifyd_redis_errors_total") != std::string::npos);
    CHECK(metrics.body.find("verifyd_redis_errors_total 0\n") == std::string::npos);

    v.redis().start();
    require_recovery(v);
    require_round_trip(v, us_number(9002));
}

TEST_CASE("while Redis does not answer requests answer 503 within a second") {
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "250"}});
    json sent = v.send_ok(v.key(kTestA), us_number(9201));
    v.redis().pause();
    require_unavailable(v, sent);
    v.redis().resume();
    require_recovery(v);
    // Answers Redis queued while paused must not be taken for answers to later commands.
    for (int i = 0; i < 5; ++i) {
        require_round_trip(v, us_number(9210 + i));
    }
}

TEST_CASE("a verifyd started while Redis is slow to answer serves from its first request") {
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "250"}});
    v.stop();
    // Silent for longer than VERIFYD_REDIS_TIMEOUT_MS, then answering again.
    v.redis().pause();
    std::thread resume([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        v.redis().resume();
    });
    v.restart();
    resume.join();
    v.send_ok(v.key(kTestA), us_number(9201));
    CHECK(v.get("/readyz").status == 200);
}

TEST_CASE("after Redis forgets verifyd's functions, requests still work and load them again") {
    VerifydInstance v;
    v.send_ok(v.key(kTestA), us_number(9401));
    // Background work (the outbox gauges, the due index) may load the library again
    // before the requests below do: either way they must work.
    REQUIRE(v.redis().command({"FUNCTION", "FLUSH"}).str == "OK");
    require_round_trip(v, us_number(9402));
    require_round_trip(v, us_number(9403));
    CHECK(v.get("/readyz").status == 200);
    CHECK(verifyd_libraries(v) == 1);
}

TEST_CASE("two releases share one Redis during a rolling update: each calls its own library") {
    VerifydInstance v;
    // Another release's library, loaded before this one started and still in use.
    const std::string other =
        "#!lua name=verifyd_000000000000\n"
        "redis.register_function('verifyd_000000000000_check', function(KEYS, ARGV) "
        "return 'the other release' end)";
    REQUIRE(v.redis().command({"FUNCTION", "LOAD", other}).str == "verifyd_000000000000");
    require_round_trip(v, us_number(9411));
    CHECK(v.redis().command({"FCALL", "verifyd_000000000000_check", "0"}).str ==
          "the other release");
    CHECK(verifyd_libraries(v) == 2);
}

TEST_CASE("VERIFYD_REDIS_URL selects the Redis database") {
    InstanceOptions options;
    options.redis_db = 3;
    VerifydInstance v(options);
    require_round_trip(v, us_number(9501));
    CHECK(v.redis().keys().empty());
    const std::string keyspace = v.redis().command({"INFO", "keyspace"}).str;
    INFO(keyspace);
    CHECK(keyspace.find("db3:keys=") != std::string::npos);
}

TEST_CASE("after Redis restarts empty, sends, reads and checks all work again") {
    VerifydInstance v;
    v.redis().kill();
    for (int i = 0; i < 3; ++i) {
        require_error(v.send(v.key(kTestA), {{"to", us_number(9301)}}), 503, 5000);
    }
    v.redis().start();
    require_recovery(v);
    require_round_trip(v, us_number(9302));
}
