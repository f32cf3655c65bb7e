// verifyd on a Redis Cluster (docs/API.md §12), against a real one on loopback (three
// primaries with a replica each, support/redis_cluster.hpp): two replicas of verifyd
// serve every kind of request with the keys spread over every primary; live messages
// are delivered exactly once, and /metrics times the commands of each primary; while
// 2000 slots move between primaries under load, and after a primary is killed and its
// replica takes over, nothing acknowledged is lost and nothing but success or 503 / 5000
// with retry_after is answered; /readyz says whether every slot has a reachable primary;
// a key's requests per minute hold across replicas.
#include "support/redis_cluster.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/failover_traffic.hpp"
#include "support/free_port.hpp"
#include "support/temp_dir.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

Settings cluster_settings(const RedisCluster& cluster) {
    return {
        {"VERIFYD_REDIS_CLUSTER", cluster.seeds_setting()},
        // The traffic below stays far from the per-key limit.
        {"VERIFYD_KEY_RPM", "100000"},
    };
}

// How many times the log provider delivered `message_id` in `log`.
size_t deliveries_of(const std::string& log, const std::string& message_id) {
    std::istringstream lines(log);
    std::string line;
    size_t count = 0;
    while (std::getline(lines, line))
        if (line.find("log provider delivery") != std::string::npos &&
            line.find(message_id) != std::string::npos)
            ++count;
    return count;
}

// Live sends whose messages must each be delivered once, whatever happens meanwhile.
std::vector<std::string> send_live(VerifydInstance& v, int first_number, int count) {
    std::vector<std::string> message_ids;
    for (int i = 0; i < count; ++i) {
        json sent = v.send_ok(v.key(kLiveA), us_number(first_number + i));
        message_ids.push_back(sent["message_id"]);
    }
    return message_ids;
}

// Every message delivered exactly once by the two replicas together.
void require_delivered_once(VerifydInstance& v, const std::vector<std::string>& message_ids) {
    for (const std::string& id : message_ids) {
        INFO("message " << id);
        size_t delivered = 0;
        const bool arrived = wait_until(
            [&] {
                delivered = deliveries_of(v.log(), id) + deliveries_of(v.replica(0).log(), id);
                return delivered > 0;
            },
            std::chrono::milliseconds(10000));
        CHECK(arrived);
        CHECK(delivered == 1);
    }
}

// How many threads of process `pid` are named `name`.
int threads_named(pid_t pid, const std::string& name) {
    int count = 0;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string thread_name;
        std::getline(comm, thread_name);
        count += thread_name == name;
    }
    return count;
}

void require_cluster(bool done, const std::string& what, const RedisCluster& cluster) {
    if (!done) FAIL(what << " in time\n" << cluster.logs());
}

}  // namespace

TEST_CASE(
    "on a Redis Cluster two replicas serve sends, reads, checks, cancels and retries, with "
    "the keys on every primary",
    "[.][cluster]") {
    RedisCluster cluster;
    VerifydInstance v(cluster_settings(cluster));
    HttpClient other(v.start_replica());
    const std::string key = v.key(kTestA);

    for (int i = 0; i < 24; ++i) {
        INFO("number " << i);
        const std::string to = us_number(8100 + i);
        // Sent through one replica, checked through the other.
        json sent = i % 2 == 0
                        ? v.send_ok(key, to)
                        : require_success(post_json(other, "/verify/send", key, {{"to", to}}), 201);
        const std::string id = sent["id"];
        const std::string code = v.sandbox_code(key, id);
        const std::string wrong = code == "000000" ? "111111" : "000000";
        json failed =
            require_success(post_json(other, "/verify/check", key, {{"id", id}, {"code", wrong}}));
        CHECK(failed.value("status", "") == "pending");
        json approved = require_success(v.check(key, id, code));
        CHECK(approved.value("status", "") == "approved");
    }

    json to_cancel = v.send_ok(key, us_number(8150));
    json canceled = require_success(v.cancel(key, to_cancel["id"]));
    CHECK(canceled.value("status", "") == "canceled");

    const Headers retry = {{"Authorization", "Bearer " + key},
                           {"Content-Type", "application/json"},
                           {"Idempotency-Key", "cluster-1"}};
    const std::string body = json{{"to", us_number(8151)}}.dump();
    HttpResponse first = v.post_raw("/verify/send", key, body, {{"Idempotency-Key", "cluster-1"}});
    HttpResponse again = other.post("/verify/send", retry, body);
    CHECK(require_success(first, 201)["id"] == require_success(again, 201)["id"]);
    // The key's claim is in a slot of its own there: a key reused for another number, or
    // a check's key reused for another verification, is told from a retry.
    require_error(other.post("/verify/send", retry, json{{"to", us_number(8152)}}.dump()), 409,
                  4009);
    const Headers check_retry = {{"Authorization", "Bearer " + key},
                                 {"Content-Type", "application/json"},
                                 {"Idempotency-Key", "cluster-check-1"}};
    json pending = v.send_ok(key, us_number(8153));
    const std::string wrong_check = json{{"id", pending["id"]}, {"code", "0000000"}}.dump();
    HttpResponse checked =
        v.post_raw("/verify/check", key, wrong_check, {{"Idempotency-Key", "cluster-check-1"}});
    HttpResponse rechecked = other.post("/verify/check", check_retry, wrong_check);
    CHECK(require_success(checked)["attempts_remaining"] ==
          require_success(rechecked)["attempts_remaining"]);
    CHECK(rechecked.header("Idempotent-Replayed").value_or("") == "true");
    json another = v.send_ok(key, us_number(8154));
    require_error(other.post("/verify/check", check_retry,
                             json{{"id", another["id"]}, {"code", "0000000"}}.dump()),
                  409, 4009);

    require_delivered_once(v, send_live(v, 8160, 6));
    CHECK(v.get("/readyz").status == 200);

    const std::string metrics = v.get("/metrics").body;
    for (int port : cluster.primary_ports()) {
        INFO("primary " << port);
        CHECK(cluster.node_command(cluster.node_of_port(port), {"DBSIZE"}).integer > 0);
        const std::map<std::string, std::string> node = {
            {"node", "127.0.0.1:" + std::to_string(port)}};
        CHECK(metric_value(metrics, "verifyd_redis_node_command_duration_seconds_count", node)
                  .value_or(0) > 0);
        CHECK(metric_value(metrics, "verifyd_redis_node_errors_total", node) == 0);
    }
}

TEST_CASE(
    "on a Redis Cluster the calls to every primary go out from VERIFYD_THREADS / 4 lane "
    "threads, not from threads of each primary's own",
    "[.][cluster]") {
    RedisCluster cluster;
    Settings settings = cluster_settings(cluster);
    settings["VERIFYD_THREADS"] = "8";
    VerifydInstance v(settings);
    const std::string key = v.key(kTestA);
    for (int i = 0; i < 12; ++i) {
        json sent = v.send_ok(key, us_number(8400 + i));
        CHECK(require_success(v.check(key, sent["id"], "0000000")).value("status", "") ==
              "pending");
    }
    for (int port : cluster.primary_ports()) {
        INFO("primary " << port);
        CHECK(cluster.node_command(cluster.node_of_port(port), {"DBSIZE"}).integer > 0);
    }
    CHECK(threads_named(v.process().pid(), "redis-lanes") == 2);
}

TEST_CASE(
    "on a Redis Cluster a key's requests_per_minute holds across two replicas: the batches "
    "they take of it add up to exactly the limit",
    "[.][cluster]") {
    RedisCluster cluster;
    Settings settings = cluster_settings(cluster);
    settings["VERIFYD_KEY_RPM"] = "100";
    VerifydInstance v(settings);
    HttpClient other(v.start_replica());
    avoid_window_edge(60, 10);
    for (const auto& [name, limit] : {std::pair{kTestA, 100}, std::pair{kLimited, 5}}) {
        INFO("key " << name);
        const std::string key = v.key(name);
        int admitted = 0;
        int refused_in_a_row = 0;
        // Alternately through each replica, until both refuse with nothing left to spend.
        for (int i = 0; i < 4 * limit && refused_in_a_row < 4; ++i) {
            HttpResponse answer =
                i % 2 == 0 ? v.get("/verify/vrf_unknown", key)
                           : other.get("/verify/vrf_unknown", {{"Authorization", "Bearer " + key}});
            if (answer.status == 429) {
                require_error(answer, 429, 4029);
                ++refused_in_a_row;
            } else {
                CHECK(answer.status == 404);
                ++admitted;
                refused_in_a_row = 0;
            }
        }
        CHECK(admitted == limit);
        CHECK(refused_in_a_row == 4);
    }
}

TEST_CASE(
    "VERIFYD_REDIS_CLUSTER beside VERIFYD_REDIS_SENTINELS stops start-up with exit status 2") {
    TempDir dir("verifyd-cluster-config");
    const std::string keys_path = dir.file("keys.json");
    write_file(keys_path, TestKeys().keys_file());
    Environment env = base_environment(free_loopback_port(), "redis://127.0.0.1:6379/0", keys_path);
    env["VERIFYD_REDIS_CLUSTER"] = "127.0.0.1:7000";
    env["VERIFYD_REDIS_SENTINELS"] = "127.0.0.1:26379";
    env["VERIFYD_REDIS_MASTER_NAME"] = "vd";
    RunResult result = run_process(VERIFYD_BINARY, {}, env, dir.file("output.log"), seconds(5));
    INFO(result.output);
    CHECK(result.status.exited);
    CHECK(result.status.code == 2);
    CHECK(result.output.find("VERIFYD_REDIS_CLUSTER") != std::string::npos);
}

TEST_CASE(
    "while 2000 slots move between primaries under load, nothing acknowledged is "
    "lost, nothing is delivered twice, and nothing but 503 with retry_after is answered",
    "[.][cluster]") {
    RedisCluster cluster;
    VerifydInstance v(cluster_settings(cluster));
    const int other = v.start_replica();
    const std::vector<std::string> before = send_live(v, 8200, 10);

    Traffic traffic(v, v.key(kTestA), 1000);
    Traffic other_traffic(v, v.key(kTestA), 4000, other);
    REQUIRE(traffic.wait_for_acknowledged(10, Clock::time_point{}, seconds(10)));
    require_cluster(cluster.reshard(0, 1, 2000, seconds(120)), "2000 slots did not move", cluster);
    const std::vector<std::string> during = send_live(v, 8220, 10);
    const auto moved_at = Clock::now();
    const bool recovered = traffic.wait_for_acknowledged(3, moved_at, seconds(10));
    traffic.stop();
    other_traffic.stop();
    CHECK(recovered);

    const std::string metrics = v.get("/metrics").body;
    WARN("redirections followed by the first replica: "
         << metric_value(metrics, "verifyd_redis_redirects_total", {{"kind", "moved"}}).value_or(-1)
         << " MOVED, "
         << metric_value(metrics, "verifyd_redis_redirects_total", {{"kind", "ask"}}).value_or(-1)
         << " ASK; 503s: " << traffic.unavailable() + other_traffic.unavailable());
    require_only_unavailable(v, traffic);
    require_only_unavailable(v, other_traffic);
    require_acknowledged_kept(v, traffic);
    require_acknowledged_kept(v, other_traffic);
    require_delivered_once(v, before);
    require_delivered_once(v, during);
}

TEST_CASE(
    "after a primary is killed its replica takes over and verifyd serves again within "
    "seconds, keeping every verification acknowledged before the kill",
    "[.][cluster]") {
    // Two replicas of each primary: one is promoted, the other then acknowledges writes.
    RedisCluster cluster(RedisClusterOptions{3, {}, 2});
    Settings settings = cluster_settings(cluster);
    // A send is acknowledged only once its primary's replica has it.
    settings["VERIFYD_REDIS_WAIT_REPLICAS"] = "1";
    VerifydInstance v(settings);
    // Before the kill too, a replica busy on a loaded machine may acknowledge after the
    // WAIT timeout: the 503 that tells the client to retry is then the right answer.
    require_round_trip(v, us_number(8301), true);

    Traffic traffic(v, v.key(kTestA), 6000);
    REQUIRE(traffic.wait_for_acknowledged(10, Clock::time_point{}, seconds(10)));
    const auto primaries = cluster.primary_ports();
    REQUIRE_FALSE(primaries.empty());
    cluster.kill(cluster.node_of_port(primaries.front()));
    // Its slots have no reachable primary until a replica is promoted (2 s at least).
    CHECK(wait_until([&] { return v.get("/readyz").status == 503; },
                     std::chrono::milliseconds(1500)));
    require_cluster(cluster.wait_until_ok(seconds(30)), "the cluster did not recover", cluster);
    const auto recovered_at = Clock::now();
    // Within seconds: the map is read again at once after a lost connection, and every
    // 5 s at the latest; the margin is for a loaded machine.
    const bool served = traffic.wait_for_acknowledged(3, recovered_at, seconds(10));
    traffic.stop();
    INFO("503s during the failover: " << traffic.unavailable());
    if (!served) FAIL_CHECK("no send acknowledged within 10 s of the failover\n" << v.log());

    require_only_unavailable(v, traffic);
    require_acknowledged_kept(v, traffic);
    require_round_trip(v, us_number(8302), true);
    CHECK(wait_until([&] { return v.get("/readyz").status == 200; },
                     std::chrono::milliseconds(10000)));
}
