// Covers redis_router.hpp's command_slot: which slot a command is routed by on a Redis
// Cluster, for every shape of command verifyd sends.
#include "verifyd/redis_router.hpp"

#include <catch2/catch.hpp>

#include "verifyd/redis_slots.hpp"

using verifyd::command_slot;
using verifyd::redis_slot;

TEST_CASE("a script call is routed by the slot of its first key, and one without keys by none") {
    CHECK(command_slot({"FCALL", "send", "2", "n:{p1}abc", "q:{p1}:delivery", "arg"}) ==
          redis_slot("{p1}"));
    CHECK(command_slot({"FCALL", "stats", "0"}) == -1);
}

TEST_CASE("stream commands are routed by their stream, wherever it stands") {
    CHECK(command_slot({"XREADGROUP", "GROUP", "deliverers", "c/0", "COUNT", "1", "STREAMS",
                        "q:{p7}:delivery", ">"}) == redis_slot("{p7}"));
    CHECK(command_slot({"XGROUP", "CREATE", "q:{p7}:delivery", "deliverers", "0", "MKSTREAM"}) ==
          redis_slot("{p7}"));
    CHECK(command_slot({"XAUTOCLAIM", "q:{p7}:delivery", "deliverers", "c/0", "100", "0-0"}) ==
          redis_slot("{p7}"));
    CHECK(command_slot({"XREADGROUP", "GROUP", "g", "c"}) == -1);
}

TEST_CASE("any other command is routed by its first argument, and PING by none") {
    CHECK(command_slot({"HGET", "n:{p2}abc", "u"}) == redis_slot("{p2}"));
    CHECK(command_slot({"ZRANGEBYSCORE", "q:{p3}:due", "-inf", "1"}) == redis_slot("{p3}"));
    CHECK(command_slot({"PING"}) == -1);
    CHECK(command_slot({}) == -1);
}
