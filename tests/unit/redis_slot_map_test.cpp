// Redis Cluster's routing facts (redis_slot_map.hpp): what a redirecting error reply
// says, and the slot map read from a CLUSTER SLOTS reply, built here by hiredis's own
// reader from RESP text. The client that follows them (redis_cluster.hpp) is tested
// against scripted nodes (integration/redis_cluster_redirects_test.cpp) and a real
// cluster (integration/redis_cluster_client_test.cpp).
#include "verifyd/redis_slot_map.hpp"

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include "support/fake_redis.hpp"
#include "verifyd/redis_connection.hpp"
#include "verifyd/redis_slots.hpp"

using namespace verifyd;
namespace resp = verifyd_test::resp;

namespace {

// The reply hiredis makes of `text`; fails the test when it is not one whole reply.
ReplyHandle parse_resp(const std::string& text) {
    redisReader* reader = redisReaderCreate();
    REQUIRE(redisReaderFeed(reader, text.data(), text.size()) == REDIS_OK);
    void* reply = nullptr;
    const int status = redisReaderGetReply(reader, &reply);
    redisReaderFree(reader);
    REQUIRE(status == REDIS_OK);
    REQUIRE(reply != nullptr);
    return ReplyHandle(static_cast<redisReply*>(reply));
}

// One range of CLUSTER SLOTS: first, last, the primary (host, port, id), a replica.
std::string range(long long first, long long last, const std::string& host, int port) {
    return resp::array(
        {resp::integer(first), resp::integer(last),
         resp::array({resp::bulk(host), resp::integer(port), resp::bulk("id")}),
         resp::array({resp::bulk(host), resp::integer(port + 1000), resp::bulk("replica-id")})});
}

std::optional<SlotMap> map_of(const std::vector<std::string>& ranges,
                              const ClusterNode& answering = {}) {
    ReplyHandle reply = parse_resp(resp::array(ranges));
    return SlotMap::from_reply(reply.get(), answering);
}

const ClusterNode kA{"127.0.0.1", 7001};
const ClusterNode kB{"127.0.0.1", 7002};
const ClusterNode kC{"127.0.0.1", 7003};

}  // namespace

TEST_CASE("MOVED names the slot and the node that now serves it") {
    Redirect redirect = parse_redirect("MOVED 3999 127.0.0.1:6381");
    CHECK(redirect.kind == Redirect::Kind::Moved);
    CHECK(redirect.slot == 3999);
    CHECK(redirect.node == ClusterNode{"127.0.0.1", 6381});
}

TEST_CASE("ASK names the slot and the node to ask once") {
    Redirect redirect = parse_redirect("ASK 0 127.0.0.1:6381");
    CHECK(redirect.kind == Redirect::Kind::Ask);
    CHECK(redirect.slot == 0);
    CHECK(redirect.node == ClusterNode{"127.0.0.1", 6381});
}

TEST_CASE(
    "a redirect's node may be a hostname, an IPv6 address with or without brackets, or "
    "empty for the node that answered") {
    CHECK(parse_redirect("MOVED 16383 redis-2.cache.internal:6379").node ==
          ClusterNode{"redis-2.cache.internal", 6379});
    CHECK(parse_redirect("MOVED 1 [::1]:6381").node == ClusterNode{"::1", 6381});
    CHECK(parse_redirect("ASK 1 ::1:6381").node == ClusterNode{"::1", 6381});
    CHECK(parse_redirect("MOVED 1 [fe80::1:2]:7000").node == ClusterNode{"fe80::1:2", 7000});
    Redirect empty = parse_redirect("MOVED 42 :6381");
    CHECK(empty.kind == Redirect::Kind::Moved);
    CHECK(empty.node == ClusterNode{"", 6381});
}

TEST_CASE("TRYAGAIN and CLUSTERDOWN ask for a retry later, whatever their text") {
    CHECK(parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot").kind ==
          Redirect::Kind::TryAgain);
    CHECK(parse_redirect("CLUSTERDOWN The cluster is down").kind == Redirect::Kind::ClusterDown);
    CHECK(parse_redirect("CLUSTERDOWN Hash slot not served").kind == Redirect::Kind::ClusterDown);
}

TEST_CASE("any other error, or a redirect that does not parse, is the command's own error") {
    for (const char* message :
         {"ERR unknown command 'FOO'", "ERR Function not found", "NOSCRIPT No matching script",
          "READONLY You can't write against a read only replica.", "MOVED", "MOVED 12",
          "MOVED x 127.0.0.1:6381", "MOVED -1 127.0.0.1:6381", "MOVED 16384 127.0.0.1:6381",
          "MOVED 1 127.0.0.1", "MOVED 1 127.0.0.1:0", "MOVED 1 127.0.0.1:65536",
          "MOVED 1 127.0.0.1:63x", "MOVED 1 127.0.0.1:6381 extra", "ASKING 1 127.0.0.1:6381",
          "moved 1 127.0.0.1:6381", ""}) {
        INFO(message);
        CHECK(parse_redirect(message).kind == Redirect::Kind::None);
    }
}

TEST_CASE("a node's name is host:port, with brackets around an IPv6 address") {
    CHECK(ClusterNode{"127.0.0.1", 6379}.name() == "127.0.0.1:6379");
    CHECK(ClusterNode{"::1", 6381}.name() == "[::1]:6381");
    CHECK(ClusterNode{"a", 1} != ClusterNode{"a", 2});
}

TEST_CASE("a slot map from CLUSTER SLOTS names every slot's primary, never a replica") {
    auto map = map_of({range(0, 5460, "127.0.0.1", 7001), range(5461, 10922, "127.0.0.1", 7002),
                       range(10923, 16383, "127.0.0.1", 7003)});
    REQUIRE(map);
    CHECK(map->complete());
    CHECK(map->primary(0) == kA);
    CHECK(map->primary(5460) == kA);
    CHECK(map->primary(5461) == kB);
    CHECK(map->primary(16383) == kC);
    CHECK(map->primary(redis_slot("foo")) == kC);  // 12182
    CHECK(map->primaries() == std::vector<ClusterNode>{kA, kB, kC});
    CHECK_FALSE(map->primary(-1));
    CHECK_FALSE(map->primary(kRedisSlots));
}

TEST_CASE("a node with several ranges is one primary, listed where it is first named") {
    auto map = map_of({range(10923, 16383, "127.0.0.1", 7003), range(0, 99, "127.0.0.1", 7001),
                       range(100, 10922, "127.0.0.1", 7003)});
    REQUIRE(map);
    CHECK(map->complete());
    CHECK(map->primaries() == std::vector<ClusterNode>{kC, kA});
}

TEST_CASE("a slot map with a slot nobody serves is incomplete, and that slot has no primary") {
    auto map = map_of({range(0, 8000, "127.0.0.1", 7001), range(8002, 16383, "127.0.0.1", 7002)});
    REQUIRE(map);
    CHECK_FALSE(map->complete());
    CHECK_FALSE(map->primary(8001));
    CHECK(map->primary(8002) == kB);

    auto none = map_of({});
    REQUIRE(none);
    CHECK_FALSE(none->complete());
    CHECK(none->primaries().empty());
    CHECK_FALSE(SlotMap().complete());
    CHECK_FALSE(SlotMap().primary(0));
}

TEST_CASE(
    "an empty host in CLUSTER SLOTS is the node that answered, and an unknown one ('?') "
    "serves nothing") {
    auto map = map_of({range(0, 8191, "", 7001), range(8192, 16383, "?", 7002)},
                      ClusterNode{"10.0.0.5", 9999});
    REQUIRE(map);
    CHECK(map->primary(0) == ClusterNode{"10.0.0.5", 7001});
    CHECK_FALSE(map->primary(8192));
    CHECK_FALSE(map->complete());
}

TEST_CASE("Redis 7's CLUSTER SLOTS, with a node's metadata after its id, is read alike") {
    const std::string primary =
        resp::array({resp::bulk("127.0.0.1"), resp::integer(7001), resp::bulk("id"),
                     resp::array({resp::bulk("hostname"), resp::bulk("redis-1")})});
    ReplyHandle reply =
        parse_resp(resp::array({resp::array({resp::integer(0), resp::integer(16383), primary})}));
    auto map = SlotMap::from_reply(reply.get());
    REQUIRE(map);
    CHECK(map->complete());
    CHECK(map->primary(100) == kA);
}

TEST_CASE("a reply that is not a slot map gives none") {
    const std::string node = resp::array({resp::bulk("127.0.0.1"), resp::integer(7001)});
    for (const std::string& text :
         {resp::error("ERR This instance has cluster support disabled"), resp::bulk("x"),
          resp::array({resp::bulk("x")}),
          resp::array({resp::array({resp::integer(0), resp::integer(1)})}),
          resp::array({resp::array({resp::bulk("0"), resp::integer(1), node})}),
          resp::array({resp::array({resp::integer(0), resp::integer(16384), node})}),
          resp::array({resp::array({resp::integer(5), resp::integer(4), node})}),
          resp::array({resp::array({resp::integer(-1), resp::integer(4), node})}),
          resp::array({resp::array({resp::integer(0), resp::integer(4), resp::bulk("x")})}),
          resp::array(
              {resp::array({resp::integer(0), resp::integer(4),
                            resp::array({resp::bulk("127.0.0.1"), resp::bulk("7001")})})})}) {
        INFO(text);
        ReplyHandle reply = parse_resp(text);
        CHECK_FALSE(SlotMap::from_reply(reply.get()));
    }
    CHECK_FALSE(SlotMap::from_reply(nullptr));
}

TEST_CASE("after a move the slot is the new node's and every other slot stays") {
    auto map = map_of({range(0, 8191, "127.0.0.1", 7001), range(8192, 16383, "127.0.0.1", 7002)});
    REQUIRE(map);
    map->move(100, kC);
    CHECK(map->primary(100) == kC);
    CHECK(map->primary(99) == kA);
    CHECK(map->primary(101) == kA);
    CHECK(map->complete());
    CHECK(map->primaries() == std::vector<ClusterNode>{kA, kB, kC});

    map->move(8192, kA);  // to a node it knows
    CHECK(map->primary(8192) == kA);
    map->move(kRedisSlots, kC);  // no such slot: nothing happens
    map->move(-1, kC);
    CHECK(map->primaries() == std::vector<ClusterNode>{kA, kB, kC});
}

TEST_CASE("a primary whose every slot moved away is no longer a primary") {
    auto map = map_of({range(0, 0, "127.0.0.1", 7001), range(1, 16383, "127.0.0.1", 7002)});
    REQUIRE(map);
    map->move(0, kB);
    CHECK(map->primaries() == std::vector<ClusterNode>{kB});
    SlotMap empty;
    empty.move(7, kA);
    CHECK(empty.primaries() == std::vector<ClusterNode>{kA});
    CHECK_FALSE(empty.complete());
}
