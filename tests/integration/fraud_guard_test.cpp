// The fraud guard (§10.3) and the client limits (§10.2) over HTTP, with short settings
// so that sends settle and pauses end within seconds: the pending cap, low conversion of
// a prefix and of a country, pauses that end on time and double on repeat, monitor
// mode, the safe list, the administration routes and their scope, concurrency across
// two replicas, and what Redis keeps. Not for: the destination policy (policy_test.cpp)
// or the parsing of client fields (unit/fraud_guard_test.cpp).
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <thread>

#include "support/api_checks.hpp"
#include "support/fake_provider.hpp"
#include "support/temp_dir.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// A US number of prefix `prefix` (0–799: +1415200 to +1415999) and line `line`.
std::string number_of(int prefix, int line) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "+1415%03d%04d", 200 + prefix, line);
    return digits;
}

std::string prefix_of(const std::string& number) {
    return number.substr(0, number.size() - 4);
}

// Sends settle after a second and pauses last two; four settled sends are judged,
// half of them must be approved; nothing else refuses a send.
Settings guard_settings(Settings overrides = {}) {
    Settings settings{{"VERIFYD_FRAUD_WINDOW", "60"},       {"VERIFYD_FRAUD_SETTLE_SECONDS", "1"},
                      {"VERIFYD_FRAUD_MIN_SENDS", "4"},     {"VERIFYD_FRAUD_MIN_CONVERSION", "0.5"},
                      {"VERIFYD_FRAUD_MAX_PENDING", "100"}, {"VERIFYD_FRAUD_BLOCK_SECONDS", "2"},
                      {"VERIFYD_SEND_LIMITS", "1000/60"},   {"VERIFYD_RESEND_COOLDOWN", "0"}};
    for (const auto& [name, value] : overrides) settings[name] = value;
    return settings;
}

// An instance whose key "admin" (account A, test mode) has only verify:admin.
struct GuardedInstance {
    explicit GuardedInstance(Settings settings)
        : admin_key(random_api_key(false)), v(options(std::move(settings), admin_key)) {}

    static InstanceOptions options(Settings settings, const std::string& admin_key) {
        InstanceOptions options;
        options.settings = std::move(settings);
        options.extra_key_entries = {{{"id", "key_admin"},
                                      {"account", kAccountA},
                                      {"hash", key_file_hash(admin_key)},
                                      {"mode", "test"},
                                      {"scopes", {"verify:admin"}}}};
        return options;
    }

    json blocks() { return require_success(v.get("/fraud/blocks", admin_key))["blocks"]; }

    std::string admin_key;
    VerifydInstance v;
};

HttpResponse request(VerifydInstance& v, const std::string& method, const std::string& path,
                     const std::string& key) {
    HttpClient client = v.client();
    return client.request(method, path, bearer(key));
}

// Approves verification `id` with its sandbox code.
void approve(VerifydInstance& v, const json& sent) {
    const std::string id = sent["id"];
    require_success(v.check(v.key(kTestA), id, v.sandbox_code(v.key(kTestA), id)));
}

}  // namespace

TEST_CASE(
    "a prefix with MAX_PENDING unsettled sends refuses the next with 4032, and takes one "
    "more for each that settles") {
    VerifydInstance v(guard_settings(
        {{"VERIFYD_FRAUD_MAX_PENDING", "3"}, {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"}}));
    std::vector<json> sent;
    for (int i = 0; i < 3; ++i) sent.push_back(v.send_ok(v.key(kTestA), number_of(1, i)));
    HttpResponse refused = v.send(v.key(kTestA), {{"to", number_of(1, 9)}});
    json error = require_error(refused, 403, 4032);
    CHECK(require_detail(error, "to").find(prefix_of(number_of(1, 9))) != std::string::npos);
    CHECK_FALSE(refused.header("Retry-After"));
    CHECK_FALSE(error.contains("retry_after"));
    // Another prefix is not concerned; an approval settles one send, and frees one place.
    v.send_ok(v.key(kTestA), number_of(2, 0));
    approve(v, sent[0]);
    v.send_ok(v.key(kTestA), number_of(1, 10));
    require_error(v.send(v.key(kTestA), {{"to", number_of(1, 11)}}), 403, 4032);
    CHECK(metric_value(v.get("/metrics").body, "verifyd_send_refusals_total",
                       {{"rule", "too_many_pending"}, {"country", "US"}}) == 2.0);
}

TEST_CASE(
    "a prefix whose settled sends convert below the minimum is paused, logged and "
    "listed, and the pause ends on time") {
    GuardedInstance g(guard_settings());
    VerifydInstance& v = g.v;
    approve(v, v.send_ok(v.key(kTestA), number_of(3, 0)));
    for (int i = 1; i < 4; ++i) v.send_ok(v.key(kTestA), number_of(3, i));
    std::this_thread::sleep_for(milliseconds(1500));

    json error = require_error(v.send(v.key(kTestA), {{"to", number_of(3, 50)}}), 403, 4032);
    CHECK(require_detail(error, "to").find("+1415203") != std::string::npos);
    json blocks = g.blocks();
    REQUIRE(blocks.size() == 1);
    const json& block = blocks[0];
    CHECK(block["target"] == "+1415203");
    CHECK(block["kind"] == "prefix");
    CHECK(block["reason"] == "low_conversion");
    CHECK(block["sends"] == 4);
    CHECK(block["settled"] == 4);
    CHECK(block["approved"] == 1);
    CHECK(block["strikes"] == 1);
    CHECK(block["enforced"] == true);
    const int64_t paused_at = *parse_rfc3339_utc(block["paused_at"]);
    CHECK(*parse_rfc3339_utc(block["expires_at"]) - paused_at == 2);
    CHECK(wait_until([&] { return v.log().find("fraud guard pause started") != std::string::npos; },
                     seconds(2)));
    const std::string metrics = v.get("/metrics").body;
    CHECK(metric_value(metrics, "verifyd_fraud_pauses_total",
                       {{"kind", "prefix"}, {"reason", "low_conversion"}, {"country", "US"}}) ==
          1.0);

    // The timers end it on time, and its history no longer counts.
    REQUIRE(wait_until([&] { return g.blocks().empty(); }, seconds(5)));
    REQUIRE(wait_until([&] { return v.log().find("fraud guard pause ended") != std::string::npos; },
                       seconds(2)));
    v.send_ok(v.key(kTestA), number_of(3, 51));
    // The gauge is read from Redis after the pause's end is reported.
    const auto active = [&] {
        return metric_value(v.get("/metrics").body, "verifyd_fraud_active_pauses", {});
    };
    wait_until([&] { return active() == 0.0; }, seconds(2));
    CHECK(active() == 0.0);
}

TEST_CASE("a pause that repeats within seven days lasts twice as long") {
    GuardedInstance g(guard_settings());
    VerifydInstance& v = g.v;
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 4; ++i) v.send_ok(v.key(kTestA), number_of(4, round * 10 + i));
        std::this_thread::sleep_for(milliseconds(1500));
        require_error(v.send(v.key(kTestA), {{"to", number_of(4, 99)}}), 403, 4032);
        json block = g.blocks().at(0);
        CHECK(block["strikes"] == round + 1);
        CHECK(*parse_rfc3339_utc(block["expires_at"]) - *parse_rfc3339_utc(block["paused_at"]) ==
              2 * (round + 1));
        REQUIRE(wait_until([&] { return g.blocks().empty(); }, seconds(8)));
    }
}

TEST_CASE("an approval after the settle time still converts its send") {
    VerifydInstance v(guard_settings());
    std::vector<json> sent;
    for (int i = 0; i < 4; ++i) sent.push_back(v.send_ok(v.key(kTestA), number_of(5, i)));
    std::this_thread::sleep_for(milliseconds(1500));
    approve(v, sent[0]);
    approve(v, sent[1]);
    // Two of four converted: not below one half.
    v.send_ok(v.key(kTestA), number_of(5, 10));
}

TEST_CASE(
    "a country whose settled sends convert below the minimum is paused at five times "
    "the minimum, across its prefixes") {
    GuardedInstance g(guard_settings({{"VERIFYD_FRAUD_MIN_SENDS", "2"}}));
    VerifydInstance& v = g.v;
    // Ten prefixes with one send each: no prefix reaches two, the country reaches ten.
    for (int p = 0; p < 10; ++p) v.send_ok(v.key(kTestA), number_of(100 + p, 1));
    std::this_thread::sleep_for(milliseconds(1500));
    json error = require_error(v.send(v.key(kTestA), {{"to", number_of(200, 1)}}), 403, 4032);
    CHECK(require_detail(error, "to").find("US") != std::string::npos);
    json block = g.blocks().at(0);
    CHECK(block["target"] == "US");
    CHECK(block["kind"] == "country");
    CHECK(block["settled"] == 10);
    // Another country is not concerned.
    v.send_ok(v.key(kTestA), "+447400123456");
}

TEST_CASE("monitor mode decides and reports the same, and refuses nothing") {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    write_file(policy, R"({"default": {"fraud_guard": "monitor"}})");
    GuardedInstance g(guard_settings({{"VERIFYD_POLICY_FILE", policy},
                                      {"VERIFYD_FRAUD_MAX_PENDING", "2"},
                                      {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"}}));
    VerifydInstance& v = g.v;
    for (int i = 0; i < 5; ++i) v.send_ok(v.key(kTestA), number_of(6, i));
    json block = g.blocks().at(0);
    CHECK(block["reason"] == "too_many_pending");
    CHECK(block["enforced"] == false);
    CHECK(block["strikes"] == 0);
    CHECK(metric_value(v.get("/metrics").body, "verifyd_fraud_monitored_sends_total",
                       {{"reason", "too_many_pending"}, {"country", "US"}}) == 3.0);
}

TEST_CASE("the guard off for an account counts and refuses nothing") {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    write_file(policy, R"({"default": {}, "accounts": {"acct_a": {"fraud_guard": "off"}}})");
    VerifydInstance v(
        guard_settings({{"VERIFYD_POLICY_FILE", policy}, {"VERIFYD_FRAUD_MAX_PENDING", "1"}}));
    for (int i = 0; i < 4; ++i) v.send_ok(v.key(kTestA), number_of(7, i));
    // Account B keeps the default: on.
    v.send_ok(v.key(kTestB), number_of(7, 10));
    require_error(v.send(v.key(kTestB), {{"to", number_of(7, 11)}}), 403, 4032);
}

TEST_CASE("a number on the safe list skips the guard and the client limits, never the policy") {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    write_file(policy, R"({"default": {"countries": {"block": ["FR"]}}})");
    GuardedInstance g(guard_settings({{"VERIFYD_POLICY_FILE", policy},
                                      {"VERIFYD_FRAUD_MAX_PENDING", "1"},
                                      {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"},
                                      {"VERIFYD_CLIENT_IP_LIMIT", "1/60"}}));
    VerifydInstance& v = g.v;
    const std::string safe = number_of(8, 1);
    json put = require_success(request(v, "PUT", "/safe-list/%2B" + safe.substr(1), g.admin_key));
    CHECK(put == json{{"number", safe}, {"safe", true}});
    CHECK(require_success(request(v, "GET", "/safe-list/" + safe, g.admin_key))["safe"] == true);
    v.send_ok(v.key(kTestA), number_of(8, 2), {{"client_ip", "198.51.100.4"}});
    // Over the pending cap and the client limit, the safe number goes through, again.
    for (int i = 0; i < 3; ++i) v.send_ok(v.key(kTestA), safe, {{"client_ip", "198.51.100.4"}});
    require_error(v.send(v.key(kTestA), {{"to", number_of(8, 3)}}), 403, 4032);
    // The policy still refuses a safe number.
    require_success(request(v, "PUT", "/safe-list/+33612345678", g.admin_key));
    require_error(v.send(v.key(kTestA), {{"to", "+33612345678"}}), 403, 4031);
    // Off the list, it is judged again; the sandbox list is not the live one.
    json deleted = require_success(request(v, "DELETE", "/safe-list/" + safe, g.admin_key));
    CHECK(deleted["safe"] == false);
    require_error(v.send(v.key(kTestA), {{"to", safe}}), 403, 4032);
    CHECK(require_success(
              request(v, "GET", "/safe-list/" + number_of(8, 2), g.admin_key))["safe"] == false);
}

TEST_CASE(
    "client_ip and client_id are limited apart, over the limit answers 4045 with "
    "retry_after, and an IPv6 address by its /64") {
    VerifydInstance v(
        guard_settings({{"VERIFYD_CLIENT_IP_LIMIT", "2/60"}, {"VERIFYD_CLIENT_ID_LIMIT", "3/60"}}));
    for (int i = 0; i < 2; ++i)
        v.send_ok(v.key(kTestA), number_of(9, i), {{"client_ip", "203.0.113.7"}});
    HttpResponse over =
        v.send(v.key(kTestA), {{"to", number_of(9, 2)}, {"client_ip", "203.0.113.7"}});
    json error = require_error(over, 429, 4045);
    CHECK_FALSE(require_detail(error, "client_ip").empty());
    CHECK(error["retry_after"].get<int>() > 50);
    CHECK(over.header("Retry-After") == std::to_string(error["retry_after"].get<int>()));
    v.send_ok(v.key(kTestA), number_of(9, 2), {{"client_ip", "203.0.113.8"}});

    v.send_ok(v.key(kTestA), number_of(10, 0), {{"client_ip", "2001:db8:1:2::1"}});
    v.send_ok(v.key(kTestA), number_of(10, 1), {{"client_ip", "2001:db8:1:2:ffff::9"}});
    require_error(
        v.send(v.key(kTestA), {{"to", number_of(10, 2)}, {"client_ip", "2001:db8:1:2:abcd::1"}}),
        429, 4045);
    v.send_ok(v.key(kTestA), number_of(10, 3), {{"client_ip", "2001:db8:1:3::1"}});

    for (int i = 0; i < 3; ++i)
        v.send_ok(v.key(kTestA), number_of(11, i), {{"client_id", "user-42@example"}});
    json id_error = require_error(
        v.send(v.key(kTestA), {{"to", number_of(11, 3)}, {"client_id", "user-42@example"}}), 429,
        4045);
    CHECK_FALSE(require_detail(id_error, "client_id").empty());
    // Another account has limits of its own.
    v.send_ok(v.key(kTestB), number_of(11, 4), {{"client_id", "user-42@example"}});
    CHECK(metric_value(v.get("/metrics").body, "verifyd_send_refusals_total",
                       {{"rule", "client_ip"}, {"country", "US"}}) == 2.0);

    // Neither the address nor the id is kept in Redis, in keys or values.
    for (const auto& entry : v.redis().dump()) {
        INFO("key " << entry.key);
        for (const char* secret : {"203.0.113.7", "2001:db8", "user-42"}) {
            CHECK(entry.key.find(secret) == std::string::npos);
            for (const auto& value : entry.values) CHECK(value.find(secret) == std::string::npos);
        }
    }
}

TEST_CASE("a malformed client_ip or client_id answers 4000 and counts nothing") {
    VerifydInstance v(guard_settings(
        {{"VERIFYD_FRAUD_MAX_PENDING", "1"}, {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"}}));
    for (const char* address : {"1.2.3", "01.2.3.4", "256.1.1.1", "1.2.3.4.5", "host",
                                "2001:db8::1::2", "", " 1.2.3.4"}) {
        INFO(address);
        json error = require_error(
            v.send(v.key(kTestA), {{"to", number_of(12, 0)}, {"client_ip", address}}), 400, 4000);
        CHECK_FALSE(require_detail(error, "client_ip").empty());
    }
    for (const std::string& id :
         std::vector<std::string>{"", "has space", "semi;colon", std::string(129, 'a')}) {
        INFO(id);
        require_error(v.send(v.key(kTestA), {{"to", number_of(12, 0)}, {"client_id", id}}), 400,
                      4000);
    }
    require_error(v.send(v.key(kTestA), {{"to", number_of(12, 0)}, {"client_ip", 7}}), 400, 4000);
    // The prefix's one pending place is still free.
    v.send_ok(v.key(kTestA), number_of(12, 0),
              {{"client_ip", "::ffff:192.0.2.1"}, {"client_id", std::string(128, 'a')}});
}

TEST_CASE("a send refused after the guard counted it counts nothing there") {
    VerifydInstance v(guard_settings({{"VERIFYD_FRAUD_MAX_PENDING", "2"},
                                      {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"},
                                      {"VERIFYD_CLIENT_IP_LIMIT", "1/60"},
                                      {"VERIFYD_SEND_LIMITS", "1/60"}}));
    v.send_ok(v.key(kTestA), number_of(13, 0), {{"client_ip", "192.0.2.10"}});
    // Refused by the client limit, then by the number's own limit: neither is pending.
    require_error(v.send(v.key(kTestA), {{"to", number_of(13, 1)}, {"client_ip", "192.0.2.10"}}),
                  429, 4045);
    require_error(v.send(v.key(kTestA), {{"to", number_of(13, 0)}}), 429, 4043);
    v.send_ok(v.key(kTestA), number_of(13, 2));
    require_error(v.send(v.key(kTestA), {{"to", number_of(13, 3)}}), 403, 4032);
}

TEST_CASE(
    "a retried send with one Idempotency-Key replays its answer, whatever the guard "
    "says later") {
    VerifydInstance v(guard_settings(
        {{"VERIFYD_FRAUD_MAX_PENDING", "1"}, {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"}}));
    const Headers first = {{"Idempotency-Key", "send-one"}};
    HttpResponse created = v.post("/verify/send", v.key(kTestA), {{"to", number_of(14, 0)}}, first);
    REQUIRE(created.status == 201);
    // The prefix is now full; the retry still answers the send it made.
    HttpResponse again = v.post("/verify/send", v.key(kTestA), {{"to", number_of(14, 0)}}, first);
    CHECK(again.status == 201);
    CHECK(again.json()["data"]["id"] == created.json()["data"]["id"]);

    const Headers second = {{"Idempotency-Key", "send-two"}};
    HttpResponse refused =
        v.post("/verify/send", v.key(kTestA), {{"to", number_of(14, 1)}}, second);
    json refusal = require_error(refused, 403, 4032);
    // Once a place is free again, the retry still answers the refusal it had.
    approve(v, created.json()["data"]);
    json replayed = require_error(
        v.post("/verify/send", v.key(kTestA), {{"to", number_of(14, 1)}}, second), 403, 4032);
    CHECK(replayed["details"] == refusal["details"]);
    v.send_ok(v.key(kTestA), number_of(14, 2));
}

TEST_CASE(
    "the administration routes need verify:admin and see only the caller's account "
    "and mode") {
    GuardedInstance g(guard_settings(
        {{"VERIFYD_FRAUD_MAX_PENDING", "1"}, {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"}}));
    VerifydInstance& v = g.v;
    v.send_ok(v.key(kTestB), number_of(15, 0));
    require_error(v.send(v.key(kTestB), {{"to", number_of(15, 1)}}), 403, 4032);

    // A key with every default scope has no verify:admin.
    require_error(v.get("/fraud/blocks", v.key(kTestA)), 403, 4030);
    require_error(request(v, "PUT", "/safe-list/" + number_of(15, 0), v.key(kTestA)), 403, 4030);
    require_error(request(v, "DELETE", "/fraud/blocks/+1415215", v.key(kTestB)), 403, 4030);
    // Account A's administrator sees none of B's pauses, and cannot lift them.
    CHECK(g.blocks().empty());
    require_error(request(v, "DELETE", "/fraud/blocks/+1415215", g.admin_key), 404, 4000);
    require_error(request(v, "DELETE", "/fraud/blocks/+14x5", g.admin_key), 400, 4000);
    require_error(request(v, "DELETE", "/fraud/blocks/usa", g.admin_key), 400, 4000);
    const json unprefixed =
        require_error(request(v, "PUT", "/safe-list/14155550100", g.admin_key), 400, 4001);
    CHECK_FALSE(require_detail(unprefixed, "number").empty());
    require_error(request(v, "GET", "/safe-list/+1", g.admin_key), 400, 4001);
    require_error(v.send(v.key(kTestB), {{"to", number_of(15, 2)}}), 403, 4032);
}

TEST_CASE("lifting a pause forgets its sends and strikes") {
    GuardedInstance g(guard_settings({{"VERIFYD_FRAUD_BLOCK_SECONDS", "600"}}));
    VerifydInstance& v = g.v;
    for (int i = 0; i < 4; ++i) v.send_ok(v.key(kTestA), number_of(16, i));
    std::this_thread::sleep_for(milliseconds(1500));
    require_error(v.send(v.key(kTestA), {{"to", number_of(16, 9)}}), 403, 4032);
    json lifted = require_success(request(v, "DELETE", "/fraud/blocks/%2B1415216", g.admin_key));
    CHECK(lifted["lifted"] == true);
    CHECK(lifted["target"] == "+1415216");
    CHECK(g.blocks().empty());
    require_error(request(v, "DELETE", "/fraud/blocks/+1415216", g.admin_key), 404, 4000);
    // Its history is gone: four more unapproved sends before it is judged again, and its
    // next pause is a first one.
    for (int i = 10; i < 14; ++i) v.send_ok(v.key(kTestA), number_of(16, i));
    std::this_thread::sleep_for(milliseconds(1500));
    require_error(v.send(v.key(kTestA), {{"to", number_of(16, 20)}}), 403, 4032);
    CHECK(g.blocks().at(0)["strikes"] == 1);
}

TEST_CASE("concurrent sends to one prefix on two replicas cannot pass MAX_PENDING") {
    VerifydInstance v(guard_settings(
        {{"VERIFYD_FRAUD_MAX_PENDING", "10"}, {"VERIFYD_FRAUD_SETTLE_SECONDS", "50"}}));
    const int other_port = v.start_replica();
    constexpr int kThreads = 8;
    constexpr int kEach = 5;
    std::atomic<int> created{0}, paused{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            HttpClient client = t % 2 == 0 ? v.client() : HttpClient(other_port);
            for (int i = 0; i < kEach; ++i) {
                try {
                    HttpResponse r = post_json(client, "/verify/send", v.key(kTestA),
                                               {{"to", number_of(17, t * 100 + i)}});
                    if (r.status == 201)
                        ++created;
                    else if (r.status == 403 && r.json()["error"]["code"] == 4032)
                        ++paused;
                    else
                        ++other;
                } catch (const std::exception&) {
                    ++other;
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(created == 10);
    CHECK(paused == kThreads * kEach - 10);
    CHECK(other == 0);
}

TEST_CASE(
    "sends to one country that arrive while its guard decision is in flight are decided "
    "together by the next call, each once") {
    VerifydInstance v(guard_settings({{"VERIFYD_REDIS_TIMEOUT_MS", "5000"}}));
    RedisServer& redis = v.redis();
    redis.log_every_command();
    // Redis holds every script for the pause: the first send's decision stays in flight
    // while the others arrive.
    redis.command({"CLIENT", "PAUSE", "700", "WRITE"});
    constexpr int kSends = 12;
    std::atomic<int> created{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kSends; ++i)
        threads.emplace_back([&, i] {
            // Two prefixes: a call decides sends to several prefixes of its country.
            HttpClient client = v.client();
            if (post_json(client, "/verify/send", v.key(kTestA), {{"to", number_of(30 + i % 2, i)}})
                    .status == 201)
                ++created;
        });
    for (auto& thread : threads) thread.join();
    CHECK(created == kSends);

    int decided = 0, calls = 0, most = 0;
    for (const auto& args : redis.script_calls("guard_admit")) {
        const int sends = std::stoi(args.at(2)) - 6;  // KEYS: six of the slot's, one a send
        decided += sends;
        most = std::max(most, sends);
        ++calls;
    }
    CHECK(decided == kSends);
    CHECK(most >= 2);
    CHECK(calls < kSends);
    // Each send was counted once: the country's counts hold all of them.
    const std::string country_counts = [&] {
        for (const std::string& key : redis.keys())
            if (key.rfind("g:{", 0) == 0 &&
                redis.command({"HGET", key, "tn"}).str == std::to_string(kSends))
                return key;
        return std::string();
    }();
    CHECK_FALSE(country_counts.empty());
    // And each prefix's counts hold its own sends, read and written once per call.
    int prefixes_holding_half = 0;
    for (const std::string& key : redis.keys())
        if (key.rfind("g:{", 0) == 0 && key != country_counts &&
            redis.command({"HGET", key, "tn"}).str == std::to_string(kSends / 2))
            ++prefixes_holding_half;
    CHECK(prefixes_holding_half == 2);
}

TEST_CASE(
    "sends to one prefix decided by one call stop at VERIFYD_FRAUD_MAX_PENDING, as if each "
    "were decided alone") {
    VerifydInstance v(
        guard_settings({{"VERIFYD_FRAUD_MAX_PENDING", "5"}, {"VERIFYD_REDIS_TIMEOUT_MS", "5000"}}));
    RedisServer& redis = v.redis();
    redis.log_every_command();
    redis.command({"CLIENT", "PAUSE", "700", "WRITE"});
    constexpr int kSends = 9;
    std::atomic<int> created{0}, refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kSends; ++i)
        threads.emplace_back([&, i] {
            HttpClient client = v.client();
            HttpResponse answer =
                post_json(client, "/verify/send", v.key(kTestA), {{"to", number_of(40, i)}});
            if (answer.status == 201) ++created;
            if (answer.status == 403 &&
                answer.json().value("error", json::object()).value("code", 0) == 4032)
                ++refused;
        });
    for (auto& thread : threads) thread.join();
    CHECK(created == 5);
    CHECK(refused == kSends - 5);
    int most = 0;
    for (const auto& args : redis.script_calls("guard_admit"))
        most = std::max(most, std::stoi(args.at(2)) - 6);
    CHECK(most >= 2);
}

TEST_CASE("a pause that starts and ends is posted as fraud.paused and fraud.resumed") {
    FakeProvider receiver;
    VerifydInstance v(guard_settings({{"VERIFYD_EVENTS_URL", receiver.url("/events")},
                                      {"VERIFYD_EVENTS_SECRET", "events_secret_0123456789"}}));
    for (int i = 0; i < 4; ++i) v.send_ok(v.key(kTestA), number_of(18, i));
    std::this_thread::sleep_for(milliseconds(1500));
    require_error(v.send(v.key(kTestA), {{"to", number_of(18, 9)}}), 403, 4032);
    std::vector<json> pauses;
    REQUIRE(receiver.wait_for(
        [&](const std::vector<RecordedRequest>& requests) {
            pauses.clear();
            for (const auto& r : requests)
                if (r.json.value("type", "").rfind("fraud.", 0) == 0) pauses.push_back(r.json);
            return pauses.size() >= 2;
        },
        seconds(10)));
    CHECK(pauses[0]["type"] == "fraud.paused");
    CHECK(pauses[1]["type"] == "fraud.resumed");
    for (const json& event : pauses) {
        CHECK(event["account"] == kAccountA);
        CHECK(event["sandbox"] == true);
        CHECK(event["data"]["target"] == "+1415218");
        CHECK(event["data"]["reason"] == "low_conversion");
        CHECK(event["data"]["country"] == "US");
    }
}

TEST_CASE(
    "a busy prefix's guard keys stay small whatever its traffic, and an idle one's "
    "expire with the window") {
    VerifydInstance v(
        guard_settings({{"VERIFYD_FRAUD_WINDOW", "10"}, {"VERIFYD_FRAUD_MIN_CONVERSION", "0.1"}}));
    // Busy: 120 sends in one prefix, most approved, four every 100 ms for over three
    // settle times (1 s): every fine bucket (a tenth of it) has sends, so the list of
    // them is as long as it gets.
    for (int i = 0; i < 120; ++i) {
        json sent = v.send_ok(v.key(kTestA), number_of(19, i));
        if (i % 4 != 0) approve(v, sent);
        if (i % 4 == 3) std::this_thread::sleep_for(milliseconds(100));
    }
    long long busy_bytes = 0;
    int guard_keys = 0;
    for (const std::string& key : v.redis().keys()) {
        if (key.rfind("g:{", 0) != 0) continue;
        ++guard_keys;
        busy_bytes += v.redis().command({"MEMORY", "USAGE", key}).integer;
        // Redis's compact encoding, which a field over 64 bytes would end for good.
        CHECK(v.redis().command({"OBJECT", "ENCODING", key}).str == "listpack");
    }
    // The prefix's counts and the country's.
    CHECK(guard_keys == 2);
    WARN("guard keys of one busy prefix and its country: " << busy_bytes << " bytes");
    CHECK(busy_bytes < 4096);
    // They live the window, the settle time and a coarse bucket (12 s) after their last
    // write; the rest is margin for a loaded machine.
    REQUIRE(wait_until(
        [&] {
            for (const std::string& key : v.redis().keys())
                if (key.rfind("g:{", 0) == 0) return false;
            return true;
        },
        seconds(40)));
}

TEST_CASE(
    "fine buckets that the release before listed as whole numbers are taken over by the next "
    "send and settle as before") {
    VerifydInstance v(guard_settings());
    v.send_ok(v.key(kTestA), number_of(20, 0));
    std::vector<std::string> counts;
    for (const std::string& key : v.redis().keys())
        if (key.rfind("g:{", 0) == 0 && v.redis().command({"HEXISTS", key, "tn"}).integer == 1)
            counts.push_back(key);
    REQUIRE(counts.size() == 2);  // the prefix's and the country's
    // Three unsettled sends of a fine bucket (100 ms) five seconds ago, as a release
    // before this one wrote them: the bucket in field F, the sends in its n field and
    // in the total.
    const RedisValue clock = v.redis().command({"TIME"});
    const long long now_ms =
        std::stoll(clock.elements[0].str) * 1000 + std::stoll(clock.elements[1].str) / 1000;
    const std::string old_bucket = std::to_string((now_ms - 5000) / 100);
    for (const std::string& key : counts) {
        v.redis().command({"HSET", key, "F", old_bucket, "n" + old_bucket, "3"});
        v.redis().command({"HINCRBY", key, "tn", "3"});
    }

    v.send_ok(v.key(kTestA), number_of(20, 1));
    for (const std::string& key : counts) {
        INFO(key);
        CHECK(v.redis().command({"HEXISTS", key, "F"}).integer == 0);
        CHECK(v.redis().command({"HEXISTS", key, "n" + old_bucket}).integer == 0);
        const auto total = [&](const char* field) {
            return std::stoll(v.redis().command({"HGET", key, field}).str);
        };
        // The old sends settled into a coarse bucket; this release's two are fine or
        // settled too, on a slow machine.
        CHECK(total("tS") >= 3);
        CHECK(total("tS") + total("tn") == 5);
        CHECK_FALSE(v.redis().command({"HGET", key, "B"}).str.empty());
    }
}
