// Covers fraud_guard.hpp: a number's prefix, the client fields' checks and the network a
// client_ip is limited by, the guard's refusals, and the pauses the scripts report.
#include "verifyd/fraud_guard.hpp"

#include <catch2/catch.hpp>

using verifyd::client_network;
using verifyd::is_client_id;

TEST_CASE("a number's prefix is its E.164 form without its last four digits") {
    CHECK(verifyd::number_prefix("+2348031234567") == "+234803123");
    CHECK(verifyd::number_prefix("+14155550100") == "+1415555");
}

TEST_CASE("an IPv4 client_ip is four dotted decimal parts without leading zeros") {
    CHECK(client_network("203.0.113.7") == "4:203.0.113.7");
    CHECK(client_network("0.0.0.0") == "4:0.0.0.0");
    CHECK(client_network("255.255.255.255") == "4:255.255.255.255");
    for (const char* bad : {"1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1.2.3.", ".1.2.3",
                            "1..2.3", "1.2.3.4 ", "a.b.c.d", "1.2.3.0x4", "", "1234"}) {
        INFO(bad);
        CHECK_FALSE(client_network(bad));
    }
}

TEST_CASE("an IPv6 client_ip is limited by its /64, an IPv4-mapped one as IPv4") {
    const auto a = client_network("2001:db8:1:2::1");
    REQUIRE(a);
    CHECK(a == client_network("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"));
    CHECK(a != client_network("2001:db8:1:3::1"));
    CHECK(a->rfind("6:", 0) == 0);
    CHECK(client_network("::ffff:192.0.2.1") == "4:192.0.2.1");
    for (const char* bad : {"2001:db8::1::2", "2001:db8:g::1", ":::", "2001:db8::1%eth0"}) {
        INFO(bad);
        CHECK_FALSE(client_network(bad));
    }
}

TEST_CASE("a client_id is 1 to 128 characters of letters, digits and . _ : @ -") {
    CHECK(is_client_id("user-42@example.com"));
    CHECK(is_client_id("device:ab_CD.9"));
    CHECK(is_client_id(std::string(128, 'x')));
    CHECK_FALSE(is_client_id(""));
    CHECK_FALSE(is_client_id(std::string(129, 'x')));
    for (const char* bad : {"has space", "semi;colon", "slash/", "plus+", "ünï"}) {
        INFO(bad);
        CHECK_FALSE(is_client_id(bad));
    }
}

TEST_CASE(
    "a paused send answers 4032 naming its target without retry_after, and a client over "
    "its limit 4045 naming the field with it") {
    auto paused = verifyd::paused_refusal("+23480312");
    CHECK(paused.code == verifyd::ErrorCode::DestinationPaused);
    CHECK(paused.http_status == 403);
    CHECK(paused.retry_after == 0);
    CHECK(paused.details.at("to").at(0).find("+23480312") != std::string::npos);
    CHECK(verifyd::paused_refusal("NG").details.at("to").at(0).find("NG") != std::string::npos);
    auto limited = verifyd::client_refusal("client_id", 42);
    CHECK(limited.code == verifyd::ErrorCode::ClientRateLimit);
    CHECK(limited.http_status == 429);
    CHECK(limited.retry_after == 42);
    CHECK(limited.details.count("client_id") == 1);
}

TEST_CASE("the guard's settings are packed in the order lib/guard.lua reads them") {
    verifyd::FraudSettings settings;
    settings.min_conversion = 0.125;
    CHECK(verifyd::pack_guard_settings(settings) == "3600 120 20 0.125 20 3600");
}

TEST_CASE("a pause reported by a script is read whole, and a malformed one is not") {
    auto pause = verifyd::parse_pause(
        R"({"change":"started","country":"NG","target":"+23480312","kind":"prefix",)"
        R"("reason":"low_conversion","sends":25,"approved":1,"settled":22,"strikes":2,)"
        R"("enforced":false,"paused_at":1765000000000,"expires_at":1765007200000})");
    REQUIRE(pause);
    CHECK(pause->started);
    CHECK(pause->target == "+23480312");
    CHECK(pause->sends == 25);
    CHECK(pause->settled == 22);
    CHECK(pause->strikes == 2);
    CHECK_FALSE(pause->enforced);
    CHECK(pause->expires_at_ms - pause->paused_at_ms == 7200000);
    CHECK_FALSE(verifyd::parse_pause("[]"));
    CHECK_FALSE(verifyd::parse_pause("{\"change\":\"ended\"}"));
    CHECK_FALSE(verifyd::parse_pause("not json"));
}
