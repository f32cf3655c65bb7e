// Items sharing script calls by key (call_batches.hpp).
#include "verifyd/call_batches.hpp"

#include <catch2/catch.hpp>

using namespace verifyd;

TEST_CASE("an item whose key has no call in flight goes at once, alone") {
    CallBatches<int> batches(4);
    CHECK(batches.add("a", 1) == std::vector<int>{1});
    CHECK(batches.add("b", 2) == std::vector<int>{2});
}

TEST_CASE("items that arrive while their key's call is in flight go together next, in order") {
    CallBatches<int> batches(4);
    REQUIRE(batches.add("a", 1) == std::vector<int>{1});
    for (int item = 2; item <= 7; ++item) CHECK(batches.add("a", item).empty());
    // Another key is not held up by this one.
    CHECK(batches.add("b", 100) == std::vector<int>{100});
    CHECK(batches.next("a") == std::vector<int>{2, 3, 4, 5});
    CHECK(batches.next("a") == std::vector<int>{6, 7});
    CHECK(batches.next("a").empty());
}

TEST_CASE("a key whose call found nothing waiting is idle again") {
    CallBatches<int> batches(4);
    REQUIRE(batches.add("a", 1) == std::vector<int>{1});
    CHECK(batches.next("a").empty());
    CHECK(batches.add("a", 2) == std::vector<int>{2});
    CHECK(batches.add("a", 3).empty());
    CHECK(batches.next("a") == std::vector<int>{3});
}
