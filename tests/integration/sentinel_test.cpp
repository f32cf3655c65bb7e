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

// Whether `response` is the 503 / 5000 with retry_after that a request may get while
// Redis is switching masters.
bool is_unavailable(const HttpResponse& response) {
    const json body = response.json();
    if (response.status != 503 || !body.is_object() || !body.contains("error") ||
        !body["error"].is_object()) {
        return false;
    }
    const json& error = body["error"];
    const auto header = response.header("Retry-After");
    return error.value("code", 0) == 5000 && error.contains("retry_after") &&
           error["retry_after"].is_number_integer() && error["retry_after"].get<int>() >= 1 &&
           header && *header == std::to_string(error["retry_after"].get<int>());
}

// Runs `request` again while it answers 503 / 5000, for at most 3 s: after a failover an
// HTTP worker's first request may find its connection to the old master gone.
HttpResponse retrying(const std::function<HttpResponse()>& request, size_t& retries) {
    const auto deadline = Clock::now() + seconds(3);
    HttpResponse response = request();
    while (is_unavailable(response) && Clock::now() < deadline) {
        ++retries;
        std::this_thread::sleep_for(milliseconds(100));
        response = request();
    }
    return response;
}

// A whole verification: send, read the sandbox code, approve; after a failover each step
// is retried while it answers 503 (see retrying).
void require_round_trip(VerifydInstance& v, const std::string& to, bool after_failover = false) {
    const std::string& key = v.key(kTestA);
    size_t retries = 0;
    auto run = [&](const std::function<HttpResponse()>& request) {
        return after_failover ? retrying(request, retries) : request();
    };
    json sent = require_success(run([&] { return v.send(key, {{"to", to}}); }), 201);
    const std::string id = sent["id"];
    json read = require_success(run([&] { return v.get_verification(key, id); }));
    const json::json_pointer code("/template_variables/code");
    REQUIRE(read.contains(code));
    json checked = require_success(run([&] { return v.check(key, id, read[code]); }));
    CHECK(checked.value("status", "") == "approved");
}

// Sandbox sends (one number each), and reads and checks of half of them, from a thread of
// its own, as login flows would go on during a failover. It records every acknowledged verification
// and every answer a failover does not excuse: anything but the success status or
// 503 / 5000 with retry_after, or no answer at all. No Catch2 macros run on its thread.
class Traffic {
  public:
    struct Acknowledged {
        std::string id;
        Clock::time_point at;
        // Whether a check was sent, and whether it answered "approved" (else it answered
        // 503, and may or may not have been applied).
        bool check_tried = false;
        bool approved = false;
    };

    Traffic(const VerifydInstance& v, std::string api_key, int first_number)
        : v_(v), key_(std::move(api_key)), first_number_(first_number) {
        thread_ = std::thread([this] { run(); });
    }
    ~Traffic() { stop(); }
    Traffic(const Traffic&) = delete;
    Traffic& operator=(const Traffic&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    std::vector<Acknowledged> acknowledged() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return acknowledged_;
    }
    std::vector<std::string> unexpected() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return unexpected_;
    }
    size_t unavailable() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return unavailable_;
    }
    size_t acknowledged_since(Clock::time_point since) const {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t count = 0;
        for (const auto& sent : acknowledged_) {
            count += sent.at >= since ? 1 : 0;
        }
        return count;
    }
    // Polls until `count` sends were acknowledged at or after `since`, within `timeout`.
    bool wait_for_acknowledged(size_t count, Clock::time_point since,
                               Clock::duration timeout) const {
        const auto deadline = Clock::now() + timeout;
        while (acknowledged_since(since) < count) {
            if (Clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(milliseconds(20));
        }
        return true;
    }

  private:
    enum class Outcome { Success, Unavailable, Unexpected };

    Outcome judge(const std::string& what, const HttpResponse& response, int success) {
        if (response.status == success) {
            return Outcome::Success;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (is_unavailable(response)) {
            ++unavailable_;
            return Outcome::Unavailable;
        }
        unexpected_.push_back(what + " answered " + std::to_string(response.status) + " " +
                              response.body);
        return Outcome::Unexpected;
    }

    void run() {
        HttpClient client = v_.client(seconds(5));
        for (int i = 0; !stop_; ++i) {
            try {
                step(client, i);
            } catch (const std::exception& e) {
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    unexpected_.push_back(std::string("request failed: ") + e.what());
                }
                client = v_.client(seconds(5));
            }
            std::this_thread::sleep_for(milliseconds(30));
        }
    }

    // One send; then the oldest verification waiting for its check, once it is half a
    // second old, so that checks go on while sends cannot be acknowledged.
    void step(HttpClient& client, int i) {
        const std::string to = us_number(first_number_ + i);
        HttpResponse sent = post_json(client, "/verify/send", key_, {{"to", to}});
        if (judge("send to " + to, sent, 201) == Outcome::Success) {
            const std::string id = sent.json()["data"]["id"];
            std::lock_guard<std::mutex> lock(mutex_);
            acknowledged_.push_back({id, Clock::now(), false, false});
            if (i % 2 == 0) {
                to_check_.push_back(acknowledged_.size() - 1);
            }
        }
        check_oldest(client);
    }

    // Reads the code of the oldest verification waiting and checks it; one that cannot be
    // read for a 503 waits for the next step.
    void check_oldest(HttpClient& client) {
        std::string id;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (to_check_.empty() ||
                Clock::now() - acknowledged_[to_check_.front()].at < milliseconds(500)) {
                return;
            }
            id = acknowledged_[to_check_.front()].id;
        }
        HttpResponse read = client.get("/verify/" + id, bearer(key_));
        const Outcome outcome = judge("GET /verify/" + id, read, 200);
        if (outcome == Outcome::Unavailable) {
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            acknowledged_[to_check_.front()].check_tried = outcome == Outcome::Success;
            to_check_.pop_front();
        }
        if (outcome != Outcome::Success) {
            return;
        }
        const std::string code = read.json()["data"]["template_variables"]["code"];
        HttpResponse checked =
            post_json(client, "/verify/check", key_, {{"id", id}, {"code", code}});
        if (judge("check of " + id, checked, 200) != Outcome::Success) {
            return;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (checked.json()["data"].value("status", "") == "approved") {
            for (auto& sent : acknowledged_) {
                sent.approved = sent.approved || sent.id == id;
            }
        } else {
            unexpected_.push_back("the right code of " + id + " answered " + checked.body);
        }
    }

    const VerifydInstance& v_;
    const std::string key_;
    const int first_number_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<Acknowledged> acknowledged_;
    std::deque<size_t> to_check_;  // indexes into acknowledged_, oldest first
    std::vector<std::string> unexpected_;
    size_t unavailable_ = 0;
    std::thread thread_;
};

// Every verification the traffic had acknowledged is still there: GET answers 200; one
// whose check answered "approved" is still approved (§4: a spent verification stays
// spent, or its code would approve it twice); one whose check answered 503 is approved
// or pending; one never checked is pending and approved by its sandbox code. Requests
// that find a connection to the old master are retried while they answer 503.
void require_acknowledged_kept(VerifydInstance& v, const Traffic& traffic) {
    const std::string& key = v.key(kTestA);
    size_t approvals_lost = 0;
    size_t retries = 0;
    for (const auto& sent : traffic.acknowledged()) {
        INFO("verification " << sent.id);
        json data =
            require_success(retrying([&] { return v.get_verification(key, sent.id); }, retries));
        const std::string status = data.value("status", "");
        if (sent.approved) {
            INFO("its check answered \"approved\"; pending now means its code works again");
            CHECK(status == "approved");
            approvals_lost += status == "approved" ? 0 : 1;
            continue;
        }
        if (sent.check_tried) {
            CHECK((status == "approved" || status == "pending"));
            continue;
        }
        CHECK(status == "pending");
        const json::json_pointer code("/template_variables/code");
        REQUIRE(data.contains(code));
        json checked =
            require_success(retrying([&] { return v.check(key, sent.id, data[code]); }, retries));
        CHECK(checked.value("status", "") == "approved");
    }
    if (approvals_lost > 0) {
        WARN(approvals_lost << " verifications answered \"approved\" were pending again after "
                               "the failover");
    }
    if (retries > 0) {
        WARN(retries << " requests after the failover answered 503 before succeeding");
    }
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

// Nothing but 503 / 5000 with retry_after, and verifyd still runs.
void require_only_unavailable(VerifydInstance& v, const Traffic& traffic) {
    const std::vector<std::string> unexpected = traffic.unexpected();
    std::string listed;
    for (size_t i = 0; i < unexpected.size() && i < 10; ++i) {
        listed += unexpected[i] + "\n";
    }
    INFO(unexpected.size() << " answers other than success or 503 / 5000, the first:\n" << listed);
    CHECK(unexpected.empty());
    INFO(v.log());
    CHECK(v.process().running());
    CHECK(v.get("/healthz").status == 200);
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
        require_round_trip(v, us_number(7101 + i));
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
        require_round_trip(v, us_number(7151));
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
