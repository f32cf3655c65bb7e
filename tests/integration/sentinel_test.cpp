// Redis Sentinel and replica acknowledgement (README "High availability"): verifyd finds
// the master through the sentinels (VERIFYD_REDIS_URL's host and port ignored, its
// database kept); with VERIFYD_REDIS_WAIT_REPLICAS a send is acknowledged only once a
// replica has it and answers 503 / 5000 when none does in time; across a failover, by
// SENTINEL FAILOVER or by a killed master, verifyd finds the new master by itself,
// answers nothing but 503 / 5000 with retry_after in between, and every verification it
// acknowledged before or during the switch can still be read and checked afterwards.
#include <atomic>
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "support/api_checks.hpp"
#include "support/failover_traffic.hpp"
#include "support/free_port.hpp"
#include "support/sentinel_cluster.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long sentinels may take to promote a replica, then to have a replica follow it,
// and how long verifyd may take after that to acknowledge sends again.
constexpr auto kPromotionTimeout = seconds(20);
constexpr auto kCompletionTimeout = seconds(25);
constexpr auto kRecoveryTimeout = seconds(5);

// verifyd through the cluster's sentinels, with a send acknowledged by one replica. The
// URL's host and port point where nothing listens (they must be ignored); its database
// is 2 (it must be kept).
// A round trip through it retries a 503 (require_round_trip): on a loaded machine the
// replica may acknowledge a send after the WAIT's 200 ms.
Settings sentinel_settings(const SentinelCluster& cluster) {
    return {
        {"VERIFYD_REDIS_SENTINELS", cluster.sentinels_setting()},
        {"VERIFYD_REDIS_MASTER_NAME", SentinelCluster::kMasterName},
        {"VERIFYD_REDIS_WAIT_REPLICAS", "1"},
        {"VERIFYD_REDIS_URL", "redis://127.0.0.1:" + std::to_string(free_loopback_port()) + "/2"},
        // The traffic below stays far from the per-key limit.
        {"VERIFYD_KEY_RPM", "100000"},
    };
}

// Fails, with the cluster's logs, unless the cluster did `what` in time.
void require_cluster(bool done, const std::string& what, const SentinelCluster& cluster) {
    if (!done) {
        FAIL(what << " in time"
                  << (cluster.tilted() ? " (a sentinel entered TILT mode: the machine stalled "
                                         "for over 2 s)"
                                       : "")
                  << "\n"
                  << cluster.logs());
    }
}

// Once the cluster has a master with a replica again, the traffic's sends are
// acknowledged again within kRecoveryTimeout; then the traffic stops.
void require_recovery(VerifydInstance& v, Traffic& traffic, const SentinelCluster& cluster) {
    const auto completed_at = Clock::now();
    const bool recovered = traffic.wait_for_acknowledged(3, completed_at, kRecoveryTimeout);
    traffic.stop();
    INFO("503s during the failover: " << traffic.unavailable());
    if (!recovered) {
        FAIL_CHECK("no send was acknowledged within 5 s of the failover's end\n"
                   << cluster.logs() << "--- verifyd ---\n"
                   << v.log());
    }
}

}  // namespace

TEST_CASE("a send no replica acknowledges in time answers 503, so a failover cannot lose it") {
    VerifydInstance v(
        Settings{{"VERIFYD_REDIS_WAIT_REPLICAS", "1"}, {"VERIFYD_REDIS_WAIT_TIMEOUT_MS", "300"}});
    const auto start = Clock::now();
    HttpResponse response = v.send(v.key(kTestA), {{"to", us_number(7001)}});
    const auto elapsed = Clock::now() - start;
    require_error(response, 503, 5000);
    // It waited for the replica, and no longer than the timeout allows.
    CHECK(elapsed >= milliseconds(250));
    CHECK(elapsed < seconds(2));
    CHECK(v.get("/healthz").status == 200);
}

TEST_CASE("through sentinels verifyd serves from the master in the URL's database") {
    SentinelCluster cluster(1);
    VerifydInstance v(sentinel_settings(cluster));
    for (int i = 0; i < 3; ++i) {
        require_round_trip(v, us_number(7101 + i), true);
    }
    CHECK(v.get("/readyz").status == 200);
    const std::string keyspace = cluster.node_command(0, {"INFO", "keyspace"}).str;
    INFO(keyspace);
    CHECK(keyspace.find("db2:keys=") != std::string::npos);
    CHECK(keyspace.find("db0:keys=") == std::string::npos);
    // The replica has the same verifications: a send was acknowledged only once it did.
    CHECK(cluster.node_command(1, {"INFO", "keyspace"}).str.find("db2:keys=") != std::string::npos);
}

TEST_CASE(
    "sentinels without a master name stop start-up with exit status 2 naming "
    "VERIFYD_REDIS_MASTER_NAME") {
    TempDir dir("verifyd-sentinel-config");
    const std::string keys_path = dir.file("keys.json");
    write_file(keys_path, TestKeys().keys_file());
    Environment env = base_environment(
        free_loopback_port(), "redis://127.0.0.1:" + std::to_string(free_loopback_port()) + "/0",
        keys_path);
    env["VERIFYD_REDIS_SENTINELS"] = "127.0.0.1:" + std::to_string(free_loopback_port());
    RunResult result = run_process(VERIFYD_BINARY, {}, env, dir.file("output.log"), seconds(5));
    INFO(result.output);
    CHECK_FALSE(result.timed_out);
    CHECK(result.status.exited);
    CHECK(result.status.code == 2);
    CHECK(result.output.find("VERIFYD_REDIS_MASTER_NAME") != std::string::npos);
}

TEST_CASE(
    "through sentinels with a password verifyd uses the sentinel password and the URL's "
    "password") {
    const std::string redis_password = "redis" + random_hex(12);
    const std::string sentinel_password = "sentinel" + random_hex(12);
    SentinelCluster cluster(SentinelClusterOptions{1, redis_password, sentinel_password});
    Settings settings = sentinel_settings(cluster);
    settings["VERIFYD_REDIS_URL"] =
        "redis://:" + redis_password + "@127.0.0.1:" + std::to_string(free_loopback_port()) + "/2";
    settings["VERIFYD_REDIS_SENTINEL_PASSWORD"] = sentinel_password;
    {
        VerifydInstance v(settings);
        require_round_trip(v, us_number(7151), true);
        CHECK(v.get("/readyz").status == 200);
        INFO(v.log());
        CHECK(v.log().find(redis_password) == std::string::npos);
        CHECK(v.log().find(sentinel_password) == std::string::npos);
    }
    // Without the sentinel password no master can be found.
    settings.erase("VERIFYD_REDIS_SENTINEL_PASSWORD");
    VerifydInstance v(settings);
    require_error(v.send(v.key(kTestA), {{"to", us_number(7152)}}), 503, 5000);
    CHECK(v.get("/readyz").status == 503);
}

TEST_CASE(
    "after SENTINEL FAILOVER verifyd serves from the new master and keeps every "
    "verification acknowledged before or during the failover") {
    SentinelCluster cluster(1);
    VerifydInstance v(sentinel_settings(cluster));
    require_round_trip(v, us_number(7201));

    Traffic traffic(v, v.key(kTestA), 1000);
    REQUIRE(traffic.wait_for_acknowledged(10, Clock::time_point{}, seconds(10)));
    require_cluster(cluster.failover(seconds(10)), "SENTINEL FAILOVER was not accepted", cluster);
    require_cluster(cluster.wait_for_role(1, "master", kPromotionTimeout),
                    "the replica was not promoted", cluster);
    // The old master goes on as a master until the sentinels turn it into a replica of
    // the new one (8 to 11 s later); until then no send can be acknowledged by a replica.
    require_cluster(cluster.wait_for_replication(0, 1, kCompletionTimeout),
                    "the old master did not become a replica of the new one", cluster);
    require_recovery(v, traffic, cluster);

    require_only_unavailable(v, traffic);
    require_acknowledged_kept(v, traffic);
    require_round_trip(v, us_number(7202), true);
    // The verifications are on the new master now.
    CHECK(cluster.role(1) == "master");
    CHECK(cluster.node_command(1, {"INFO", "keyspace"}).str.find("db2:keys=") != std::string::npos);
}

TEST_CASE("after the master is killed verifyd serves from the replica the sentinels promote") {
    // Two replicas: one is promoted, the other then acknowledges sends to it.
    SentinelCluster cluster(2);
    VerifydInstance v(sentinel_settings(cluster));
    require_round_trip(v, us_number(7301));

    Traffic traffic(v, v.key(kTestA), 5000);
    REQUIRE(traffic.wait_for_acknowledged(10, Clock::time_point{}, seconds(10)));
    cluster.kill_node(0);
    size_t promoted = 0;
    const auto deadline = Clock::now() + kPromotionTimeout;
    while (promoted == 0 && Clock::now() < deadline) {
        for (size_t node = 1; node < cluster.node_count(); ++node) {
            if (cluster.role(node) == "master") {
                promoted = node;
            }
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
    require_cluster(promoted != 0, "no replica was promoted", cluster);
    const size_t other = promoted == 1 ? 2 : 1;
    require_cluster(cluster.wait_for_replication(other, promoted, kCompletionTimeout),
                    "the other replica did not follow the new master", cluster);
    require_recovery(v, traffic, cluster);

    require_only_unavailable(v, traffic);
    // The kill must have been noticed: requests in between could not all succeed.
    CHECK(traffic.unavailable() > 0);
    require_acknowledged_kept(v, traffic);
    require_round_trip(v, us_number(7302), true);
    CHECK(cluster.role(promoted) == "master");
}
