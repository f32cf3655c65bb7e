// Covers request_allowances.hpp: a replica spends the batches of a key's requests it took
// on a Redis Cluster only within their minute, and never more than it took.
#include "verifyd/request_allowances.hpp"

#include <catch2/catch.hpp>

using verifyd::RequestAllowances;
using Clock = RequestAllowances::Clock;
using std::chrono::milliseconds;

namespace {

const Clock::time_point kNow{milliseconds(1'000'000)};

int spend_all(RequestAllowances& allowances, const std::string& key, Clock::time_point at) {
    int spent = 0;
    while (allowances.take(key, at)) ++spent;
    return spent;
}

}  // namespace

TEST_CASE("a key with nothing taken has no request to spend") {
    RequestAllowances allowances;
    CHECK_FALSE(allowances.take("key_a", kNow));
}

TEST_CASE("a batch is spent exactly once, by its own key only") {
    RequestAllowances allowances;
    allowances.keep("key_a", 5, 100, kNow + milliseconds(30'000));
    CHECK_FALSE(allowances.take("key_b", kNow));
    CHECK(spend_all(allowances, "key_a", kNow) == 5);
}

TEST_CASE("a batch is not spent once its minute has ended") {
    RequestAllowances allowances;
    const Clock::time_point ends = kNow + milliseconds(500);
    allowances.keep("key_a", 5, 100, ends);
    CHECK(allowances.take("key_a", ends - milliseconds(1)));
    CHECK_FALSE(allowances.take("key_a", ends));
}

TEST_CASE("batches of one minute add up and end with the earliest end") {
    RequestAllowances allowances;
    allowances.keep("key_a", 3, 100, kNow + milliseconds(2000));
    allowances.keep("key_a", 4, 100, kNow + milliseconds(1000));
    CHECK_FALSE(allowances.take("key_a", kNow + milliseconds(1500)));
    CHECK(spend_all(allowances, "key_a", kNow) == 7);
}

TEST_CASE("a batch of a later minute replaces what is left of an earlier one") {
    RequestAllowances allowances;
    allowances.keep("key_a", 10, 100, kNow + milliseconds(100));
    allowances.keep("key_a", 2, 101, kNow + milliseconds(60'100));
    CHECK(spend_all(allowances, "key_a", kNow) == 2);
}

TEST_CASE("a batch of an earlier minute arriving late is dropped") {
    RequestAllowances allowances;
    allowances.keep("key_a", 2, 101, kNow + milliseconds(60'000));
    allowances.keep("key_a", 10, 100, kNow + milliseconds(100));
    CHECK(spend_all(allowances, "key_a", kNow) == 2);
}

TEST_CASE("an empty batch leaves the allowance as it was") {
    RequestAllowances allowances;
    allowances.keep("key_a", 1, 100, kNow + milliseconds(1000));
    allowances.keep("key_a", 0, 101, kNow + milliseconds(60'000));
    CHECK(spend_all(allowances, "key_a", kNow) == 1);
}
