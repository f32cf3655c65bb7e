// What a verification costs in Redis (lua/lib/record.lua): a pending one is the one
// compact hash of its number, a superseded one moves to a record of its own that expires
// with it. Redis keeps a hash compact (a listpack) only while every value is short, so
// these tests look at the encoding, not only at the keys.
#include <algorithm>
#include <catch2/catch.hpp>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

// The keys of one kind ("n:", "o:", …) in the fixture's Redis.
std::vector<std::string> keys_starting(VerifydInstance& v, const std::string& prefix) {
    std::vector<std::string> found;
    for (const auto& key : v.redis().keys())
        if (key.rfind(prefix, 0) == 0) found.push_back(key);
    return found;
}

std::string encoding(VerifydInstance& v, const std::string& key) {
    return v.redis().command({"OBJECT", "ENCODING", key}).str;
}

}  // namespace

TEST_CASE(
    "a pending sandbox verification is one compact hash besides the key's counter, the fraud "
    "guard's counts and its account's inbox") {
    VerifydInstance v;
    v.send_ok(v.key(kTestA), us_number(14001));

    // The outbox's keys ("q:") and the number key are made at start, whatever is sent.
    std::vector<std::string> keys;
    for (const auto& key : v.redis().keys())
        if (key.rfind("q:", 0) != 0 && key != "{verifyd}:number-key") keys.push_back(key);
    INFO("keys: " << json(keys).dump());
    CHECK(keys.size() == 5);
    const std::vector<std::string> numbers = keys_starting(v, "n:");
    REQUIRE(numbers.size() == 1);
    CHECK(keys_starting(v, "k:").size() == 1);
    CHECK(encoding(v, numbers[0]) == "listpack");
    // The inbox holds the message's job ref only, compact too.
    const std::vector<std::string> inbox = keys_starting(v, "m:{");
    REQUIRE(inbox.size() == 1);
    CHECK(encoding(v, inbox[0]) == "listpack");
    // The counts of the number's prefix and of its country, in one slot.
    const std::vector<std::string> counts = keys_starting(v, "g:{");
    REQUIRE(counts.size() == 2);
    CHECK(counts[0].substr(0, counts[0].find('}')) == counts[1].substr(0, counts[1].find('}')));
    for (const auto& key : counts) CHECK(encoding(v, key) == "listpack");
}

TEST_CASE("a live WhatsApp verification with a fallback and variables stays one compact hash") {
    VerifydInstance v;
    json sent = v.send_ok(
        v.key(kLiveA), us_number(14101),
        {{"channel", "whatsapp"},
         {"fallback", "sms"},
         {"locale", "pt-BR"},
         {"template",
          {{"name", "login"}, {"variables", {{"user_name", "Ana"}, {"brand", "Acme"}}}}}});

    const std::vector<std::string> numbers = keys_starting(v, "n:");
    REQUIRE(numbers.size() == 1);
    CHECK(keys_starting(v, "o:").empty());
    CHECK(encoding(v, numbers[0]) == "listpack");
    // The variables the message is rendered with are still whole.
    v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    json message =
        require_success(v.get("/messages/" + sent["message_id"].get<std::string>(), v.key(kLiveA)));
    CHECK(message["template"].value("name", "") == "login");
    CHECK(message["template"]["variables"].value("user_name", "") == "Ana");
    CHECK(message["template"]["variables"].value("brand", "") == "Acme");
    CHECK(message["template"]["variables"].contains("ttl_minutes"));
    CHECK_FALSE(message["template"]["variables"].contains("code"));
}

TEST_CASE("a superseded verification moves to a record that expires with it, without its hash") {
    // ttl + grace covers the send window, so the current verification is inline.
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"},
                               {"VERIFYD_SEND_LIMITS", "5/90"},
                               {"VERIFYD_CODE_TTL", "60"},
                               {"VERIFYD_EXPIRED_GRACE", "30"}});
    const std::string to = us_number(14201);
    json first = v.send_ok(v.key(kTestA), to);
    json second = v.send_ok(v.key(kTestA), to);

    const std::vector<std::string> records = keys_starting(v, "o:");
    REQUIRE(records.size() == 1);
    CHECK(keys_starting(v, "n:").size() == 1);
    const long long ttl_ms = v.redis().command({"PTTL", records[0]}).integer;
    CHECK(ttl_ms > 0);
    CHECK(ttl_ms <= 90 * 1000);
    CHECK(v.redis().command({"HEXISTS", records[0], "h"}).integer == 0);
    CHECK(v.redis().command({"HGET", records[0], "st"}).str == "s");

    json read = require_success(v.get_verification(v.key(kTestA), first["id"]));
    CHECK(read.value("status", "") == "canceled");
    json current = require_success(v.get_verification(v.key(kTestA), second["id"]));
    CHECK(current.value("status", "") == "pending");
}

TEST_CASE(
    "a verification whose ttl + grace is shorter than the longest send window lives in "
    "a record of its own, and its number's hash holds only the send times") {
    VerifydInstance v(Settings{{"VERIFYD_CODE_TTL", "60"}, {"VERIFYD_EXPIRED_GRACE", "30"}});
    json sent = v.send_ok(v.key(kTestA), us_number(14301));

    const std::vector<std::string> records = keys_starting(v, "o:");
    const std::vector<std::string> numbers = keys_starting(v, "n:");
    REQUIRE(records.size() == 1);
    REQUIRE(numbers.size() == 1);
    CHECK(v.redis().command({"PTTL", records[0]}).integer <= 90 * 1000);
    CHECK(v.redis().command({"PTTL", numbers[0]}).integer > 86000 * 1000);
    RedisValue fields = v.redis().command({"HKEYS", numbers[0]});
    std::vector<std::string> names = fields.leaves();
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"ts", "u"});
    CHECK(encoding(v, records[0]) == "listpack");
    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read.value("status", "") == "pending");
}
