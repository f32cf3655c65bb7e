// Expiry (§5.3): a verification answers 4041 for VERIFYD_EXPIRED_GRACE seconds after its
// TTL and 4040 after that, because Redis TTLs remove its keys.
#include <catch2/catch.hpp>
#include <thread>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

// A one-second TTL and a five-second grace: expired after 1 s, gone after 6 s. The
// grace is wide so that a loaded machine's scheduling never lands a check outside it.
Settings short_lived() {
    return {{"VERIFYD_CODE_TTL", "1"}, {"VERIFYD_EXPIRED_GRACE", "5"}};
}

void sleep_until(std::chrono::steady_clock::time_point when) {
    std::this_thread::sleep_until(when);
}

// Whether any value stored under the key spells one of the numbers (without its +).
bool holds_any_number(const RedisEntry& entry, const std::vector<std::string>& numbers) {
    for (const auto& value : entry.values)
        for (const auto& number : numbers)
            if (value.find(number.substr(1)) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("a check after the TTL answers 410 with 4041, and 4040 once the grace has passed") {
    VerifydInstance v(short_lived());
    json sent = v.send_ok(v.key(kTestA), us_number(7001));
    const auto sent_by = std::chrono::steady_clock::now();
    auto created = parse_rfc3339_utc(sent["created_at"]);
    auto expires = parse_rfc3339_utc(sent["expires_at"]);
    REQUIRE(created);
    REQUIRE(expires);
    CHECK(*expires - *created == 1);
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);

    sleep_until(sent_by + std::chrono::milliseconds(1500));
    require_error(v.check(v.key(kTestA), sent["id"], code), 410, 4041);
    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read.value("status", "") == "expired");
    require_error(v.check(v.key(kTestA), {{"to", us_number(7001)}, {"code", code}}), 410, 4041);

    sleep_until(sent_by + std::chrono::milliseconds(7000));
    require_error(v.check(v.key(kTestA), sent["id"], code), 404, 4040);
    require_error(v.get_verification(v.key(kTestA), sent["id"]), 404, 4040);
}

TEST_CASE("ttl_seconds in a send overrides VERIFYD_CODE_TTL") {
    VerifydInstance v(short_lived());
    json sent = v.send_ok(v.key(kTestA), us_number(7101), {{"ttl_seconds", 30}});
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    json data = require_success(v.check(v.key(kTestA), sent["id"], code));
    CHECK(data.value("status", "") == "approved");
}

TEST_CASE("Redis TTLs remove an expired verification's keys") {
    // The number's hash, which holds its current verification, lives as long as the
    // longer of ttl + grace and the number's send windows and cooldown: here ttl + grace.
    Settings settings = short_lived();
    settings["VERIFYD_SEND_LIMITS"] = "5/3";
    settings["VERIFYD_RESEND_COOLDOWN"] = "1";
    VerifydInstance v(settings);
    json sent = v.send_ok(v.key(kTestA), us_number(7201));
    const auto sent_by = std::chrono::steady_clock::now();

    // The verification's keys live ttl + grace = 6 s; nothing verifyd wrote lives forever
    // (a delivery stream, which sandbox sends do not use, and the deployment's number key
    // are the allowed exceptions).
    std::vector<std::string> short_lived_keys;
    for (const auto& entry : v.redis().dump()) {
        INFO("key " << entry.key << " (" << entry.type << ") TTL " << entry.ttl_ms << " ms");
        if (entry.type != "stream" && entry.key != "{verifyd}:number-key") {
            CHECK(entry.ttl_ms > 0);
        }
        if (entry.ttl_ms > 0 && entry.ttl_ms <= 6000) {
            short_lived_keys.push_back(entry.key);
        }
    }
    CHECK_FALSE(short_lived_keys.empty());

    sleep_until(sent_by + std::chrono::milliseconds(7000));
    for (const auto& key : short_lived_keys) {
        INFO("key " << key);
        CHECK(v.redis().command({"EXISTS", key}).integer == 0);
    }
    require_error(v.get_verification(v.key(kTestA), sent["id"]), 404, 4040);
}

TEST_CASE(
    "after ttl + grace nothing of a verification remains in Redis but its number's send "
    "times, and the send limits still count them") {
    // A grace shorter than the longest send window: the number's hash outlives its
    // verifications, which must not outlive their ttl + grace inside it.
    VerifydInstance v(Settings{{"VERIFYD_CODE_TTL", "1"},
                               {"VERIFYD_EXPIRED_GRACE", "2"},
                               {"VERIFYD_SEND_LIMITS", "2/86400"},
                               {"VERIFYD_RESEND_COOLDOWN", "0"}});
    const std::string sandbox_to = us_number(7301);
    const std::string live_to = us_number(7302);
    v.send_ok(v.key(kTestA), sandbox_to);
    v.send_ok(v.key(kTestA), sandbox_to);  // supersedes the first
    json live = v.send_ok(v.key(kLiveA), live_to);
    const auto sent_by = std::chrono::steady_clock::now();
    v.wait_for_delivery(v.key(kLiveA), live["id"], "sent");

    // Whatever holds a number lives at most ttl + grace = 3 s.
    auto holds_a_number = [&](const RedisEntry& entry) {
        return holds_any_number(entry, {sandbox_to, live_to});
    };
    int holders = 0;
    for (const auto& entry : v.redis().dump()) {
        if (!holds_a_number(entry)) continue;
        ++holders;
        INFO("key " << entry.key << " TTL " << entry.ttl_ms << " ms");
        CHECK(entry.ttl_ms > 0);
        CHECK(entry.ttl_ms <= 3000);
    }
    CHECK(holders == 3);

    sleep_until(sent_by + std::chrono::milliseconds(4500));
    int numbers = 0;
    for (const auto& entry : v.redis().dump()) {
        INFO("key " << entry.key << " (" << entry.values.size() / 2 << " fields)");
        CHECK_FALSE(holds_a_number(entry));
        CHECK(entry.key.rfind("o:", 0) != 0);
        if (entry.key.rfind("n:", 0) != 0) continue;
        ++numbers;
        // Only the current verification's suffix and the send times are left.
        for (size_t i = 0; i < entry.values.size(); i += 2)
            CHECK((entry.values[i] == "u" || entry.values[i] == "ts" || entry.values[i] == "tl"));
    }
    CHECK(numbers == 2);
    require_error(v.send(v.key(kTestA), {{"to", sandbox_to}}), 429, 4043);
    CHECK(v.send(v.key(kLiveA), {{"to", live_to}}).status == 201);
}

TEST_CASE(
    "an answer kept for an Idempotency-Key that names the number lives no longer than its "
    "verification") {
    // Two seconds to check and cancel before the codes expire; gone a second later.
    VerifydInstance v(Settings{{"VERIFYD_CODE_TTL", "2"},
                               {"VERIFYD_EXPIRED_GRACE", "1"},
                               {"VERIFYD_RESEND_COOLDOWN", "0"}});
    const std::string checked_to = us_number(7311);
    const std::string canceled_to = us_number(7312);
    const json checked = v.send_ok(v.key(kTestA), checked_to);
    const json canceled = v.send_ok(v.key(kTestA), canceled_to);
    const auto sent_by = std::chrono::steady_clock::now();
    const std::string code = v.sandbox_code(v.key(kTestA), checked["id"]);
    const json check_body = {{"id", checked["id"]},
                             {"code", code == "000000" ? "111111" : "000000"}};
    const Headers check_key = {{"Idempotency-Key", "check-once"}};
    const Headers cancel_key = {{"Idempotency-Key", "cancel-once"}};
    HttpResponse first = v.post("/verify/check", v.key(kTestA), check_body, check_key);
    REQUIRE(first.status == 200);
    CHECK(json::parse(first.body)["data"]["status"] == "pending");
    HttpResponse first_cancel = v.post("/verify/" + canceled["id"].get<std::string>() + "/cancel",
                                       v.key(kTestA), json::object(), cancel_key);
    REQUIRE(first_cancel.status == 200);
    // While the verifications live, a retry is answered from what was kept.
    HttpResponse again = v.post("/verify/check", v.key(kTestA), check_body, check_key);
    CHECK(again.header("Idempotent-Replayed").value_or("") == "true");
    CHECK(json::parse(again.body)["data"] == json::parse(first.body)["data"]);

    // Every key that holds one of the numbers, kept answers included, goes with its
    // verification: ttl + grace = 3 s after the send, not VERIFYD_IDEMPOTENCY_TTL.
    auto holds_a_number = [&](const RedisEntry& entry) {
        return holds_any_number(entry, {checked_to, canceled_to});
    };
    int kept_answers = 0;
    for (const auto& entry : v.redis().dump()) {
        if (!holds_a_number(entry)) continue;
        INFO("key " << entry.key << " TTL " << entry.ttl_ms << " ms");
        CHECK(entry.ttl_ms > 0);
        CHECK(entry.ttl_ms <= 3000);
        if (entry.key.rfind("r:", 0) == 0) ++kept_answers;
    }
    CHECK(kept_answers == 2);
    sleep_until(sent_by + std::chrono::milliseconds(4500));
    for (const auto& entry : v.redis().dump()) {
        INFO("key " << entry.key);
        CHECK_FALSE(holds_a_number(entry));
    }
}
