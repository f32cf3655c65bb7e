// Redis Cluster's hash slots (redis_slots.hpp), against the values the cluster
// specification and redis-cli (CLUSTER KEYSLOT) give.
#include "verifyd/redis_slots.hpp"

#include <catch2/catch.hpp>

using namespace verifyd;

TEST_CASE("CRC16 is XMODEM's: the check value of 123456789 is 0x31C3") {
    CHECK(crc16_xmodem("123456789") == 0x31C3);
    CHECK(crc16_xmodem("") == 0);
}

TEST_CASE("a key's slot is CLUSTER KEYSLOT's") {
    CHECK(redis_slot("foo") == 12182);
    CHECK(redis_slot("bar") == 5061);
    CHECK(redis_slot("123456789") == 12739);
}

TEST_CASE(
    "a hash tag decides the slot: what lies between the first { and the next }, unless that is "
    "empty") {
    CHECK(redis_slot("{user1000}.following") == redis_slot("{user1000}.followers"));
    CHECK(redis_slot("{user1000}.following") == redis_slot("user1000"));
    CHECK(redis_slot("foo{bar}{zap}") == redis_slot("bar"));
    // An empty tag is no tag: the whole key is hashed.
    CHECK(redis_slot("foo{}{bar}") == crc16_xmodem("foo{}{bar}") % kRedisSlots);
    CHECK(redis_slot("foo{{bar}}zap") == redis_slot("{bar"));
    CHECK(redis_slot("{unclosed") == crc16_xmodem("{unclosed") % kRedisSlots);
}
