// The cluster client (redis_cluster.hpp) against a real Redis Cluster of three primaries
// and their replicas (support/redis_cluster.hpp): it routes to every primary, calls the
// function library on each, follows a slot moved while it is in use (ASK while it
// migrates, MOVED once it moved, TRYAGAIN for keys split by the move), follows redis-cli's
// resharding, and serves a killed primary's slots again once its replica took over,
// without being recreated. Scripted nodes stage the rarer answers
// (redis_cluster_redirects_test.cpp).
#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "support/redis_cluster.hpp"
#include "verifyd/lua_scripts.hpp"
#include "verifyd/redis_cluster.hpp"
#include "verifyd/redis_slots.hpp"

using namespace verifyd;
using namespace verifyd_test;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr int kTimeoutMs = 1000;

// A key per primary of the cluster, each with a hash tag of its own.
std::vector<std::string> key_per_primary(const RedisCluster& cluster) {
    std::vector<std::string> keys;
    std::set<size_t> covered;
    const size_t primaries = cluster.primary_ports().size();
    for (int i = 0; covered.size() < primaries && i < 10000; ++i) {
        const std::string key = "{t" + std::to_string(i) + "}:k";
        auto primary = cluster.primary_of(redis_slot(key));
        if (primary && covered.insert(*primary).second) {
            keys.push_back(key);
        }
    }
    REQUIRE(keys.size() == primaries);
    return keys;
}

// Another primary than the one serving `slot`.
size_t other_primary(const RedisCluster& cluster, int slot) {
    const size_t source = *cluster.primary_of(slot);
    for (int port : cluster.primary_ports()) {
        if (cluster.node_of_port(port) != source) {
            return cluster.node_of_port(port);
        }
    }
    FAIL("the cluster has one primary");
    return source;
}

ClusterNode node_at(const RedisCluster& cluster, size_t node) {
    return ClusterNode{"127.0.0.1", cluster.node_port(node)};
}

}  // namespace

TEST_CASE(
    "the cluster client sends each command to the primary of its key's slot, on every "
    "primary",
    "[.][cluster]") {
    RedisCluster cluster;
    ClusterClient client(cluster.seeds(), RedisEndpoint{}, kTimeoutMs);
    CHECK(client.slot_map().complete());
    CHECK(client.slot_map().primaries().size() == 3);
    CHECK(client.all_slots_served());

    for (const std::string& key : key_per_primary(cluster)) {
        INFO(key);
        const int slot = redis_slot(key);
        CHECK(answered_string(client.command(slot, {"SET", key, "v-" + key})) == "OK");
        CHECK(answered_string(client.command(slot, {"GET", key})) == "v-" + key);
        // Stored on that primary, not anywhere else.
        const size_t primary = *cluster.primary_of(slot);
        CHECK(cluster.node_command(primary, {"GET", key}).str == "v-" + key);
        CHECK(client.slot_map().primary(slot) == node_at(cluster, primary));
    }
}

TEST_CASE("a replica is as good a seed as a primary: the map it gives names the primaries",
          "[.][cluster]") {
    RedisCluster cluster;
    const size_t primary = *cluster.primary_of(0);
    auto replica = cluster.replica_of(primary);
    REQUIRE(replica);
    ClusterClient client({{"127.0.0.1", cluster.node_port(*replica)}}, RedisEndpoint{}, kTimeoutMs);
    CHECK(client.slot_map().complete());
    CHECK(client.slot_map().primary(0) == node_at(cluster, primary));
    CHECK(answered_string(client.command(redis_slot("{replica-seed}"),
                                         {"SET", "{replica-seed}", "x"})) == "OK");
    CHECK(client.all_slots_served());
}

TEST_CASE("the function library is loaded on every primary and FCALL works on each",
          "[.][cluster]") {
    RedisCluster cluster;
    ClusterClient client(cluster.seeds(), RedisEndpoint{}, kTimeoutMs);
    for (const std::string& tag : key_per_primary(cluster)) {
        // delivery/lookup.lua reads p:{id} (the message a provider id names) and answers
        // {job, channel}; p:{id} and pr:{id} share the id's slot.
        const std::string id = tag.substr(1, tag.find('}') - 1);
        const std::string mapped = "p:{" + id + "}";
        const std::string parked = "pr:{" + id + "}";
        const int slot = redis_slot(mapped);
        INFO(mapped);
        REQUIRE(answered_string(client.command(slot, {"SET", mapped, "vrf_" + id + " sms"})) ==
                "OK");
        auto answer = client.command(
            slot, {"FCALL", "delivery_lookup", "2", mapped, parked, "delivered 0", "60000"});
        REQUIRE(answer.ok());
        REQUIRE(answer.value->type == REDIS_REPLY_ARRAY);
        REQUIRE(answer.value->elements == 2);
        CHECK(reply_string(answer.value->element[0]) == "vrf_" + id);
        CHECK(reply_string(answer.value->element[1]) == "sms");
    }
    for (int port : cluster.primary_ports()) {
        RedisValue libraries = cluster.node_command(
            cluster.node_of_port(port), {"FUNCTION", "LIST", "LIBRARYNAME", lua_library().name});
        CHECK(libraries.elements.size() == 1);
    }
}

TEST_CASE(
    "a slot moved by hand while in use is followed: ASK while it migrates, TRYAGAIN for "
    "keys the move split, MOVED once it moved",
    "[.][cluster]") {
    RedisCluster cluster;
    ClusterClient client(cluster.seeds(), RedisEndpoint{}, kTimeoutMs, milliseconds(300));
    const std::string moving = "{migrating}:a";
    const std::string created = "{migrating}:b";
    const std::string staying = "{migrating}:c";
    const int slot = redis_slot(moving);
    const size_t source = *cluster.primary_of(slot);
    const size_t target = other_primary(cluster, slot);
    REQUIRE(answered_string(client.command(slot, {"SET", moving, "before"})) == "OK");
    REQUIRE(answered_string(client.command(slot, {"SET", staying, "stays"})) == "OK");

    const std::string slot_text = std::to_string(slot);
    REQUIRE(cluster
                .node_command(
                    target, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", cluster.node_id(source)})
                .str == "OK");
    REQUIRE(cluster
                .node_command(
                    source, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", cluster.node_id(target)})
                .str == "OK");

    // A key the source lacks is the target's (ASK); one it has is still its own.
    CHECK(answered_string(client.command(slot, {"SET", created, "new"})) == "OK");
    CHECK(answered_string(client.command(slot, {"GET", moving})) == "before");
    CHECK(cluster.node_command(source, {"EXISTS", created}).integer == 0);
    REQUIRE(cluster
                .node_command(
                    source, {"MIGRATE", "127.0.0.1", std::to_string(cluster.node_port(target)), "",
                             "0", "5000", "KEYS", moving})
                .str == "OK");
    CHECK(answered_string(client.command(slot, {"GET", moving})) == "before");
    CHECK(answered_string(client.command(slot, {"GET", created})) == "new");
    // ASK changes nothing in the map.
    CHECK(client.slot_map().primary(slot) == node_at(cluster, source));

    // Keys on both sides of the move: neither node can answer until it ends.
    auto split = client.command(slot, {"MGET", moving, staying});
    REQUIRE_FALSE(split.ok());
    CHECK(split.error->http_status == 503);
    CHECK(split.error->retry_after >= 1);

    REQUIRE(cluster
                .node_command(
                    source, {"MIGRATE", "127.0.0.1", std::to_string(cluster.node_port(target)), "",
                             "0", "5000", "KEYS", staying})
                .str == "OK");
    for (int port : cluster.primary_ports()) {
        REQUIRE(cluster
                    .node_command(cluster.node_of_port(port), {"CLUSTER", "SETSLOT", slot_text,
                                                               "NODE", cluster.node_id(target)})
                    .str == "OK");
    }
    auto both = client.command(slot, {"MGET", moving, staying});
    REQUIRE(both.ok());
    REQUIRE(both.value->elements == 2);
    CHECK(reply_string(both.value->element[0]) == "before");
    CHECK(reply_string(both.value->element[1]) == "stays");
    CHECK(client.slot_map().primary(slot) == node_at(cluster, target));
    CHECK(answered_string(client.command(slot, {"GET", created})) == "new");
    CHECK(client.all_slots_served());
}

TEST_CASE(
    "a resharding by redis-cli is followed by the same client: every key reads back from "
    "its new primary",
    "[.][cluster]") {
    RedisCluster cluster;
    ClusterClient client(cluster.seeds(), RedisEndpoint{}, kTimeoutMs);
    const size_t from = *cluster.primary_of(0);
    const size_t to = other_primary(cluster, 0);
    // Keys in the first few hundred slots of `from`, which redis-cli moves first, and
    // keys anywhere else.
    std::vector<std::string> keys;
    for (int i = 0; keys.size() < 60 && i < 100000; ++i) {
        const std::string key = "{r" + std::to_string(i) + "}";
        if (redis_slot(key) < 300 || i % 50 == 0) {
            keys.push_back(key);
        }
    }
    std::vector<std::pair<int, std::vector<std::string>>> writes;
    for (const std::string& key : keys) {
        writes.push_back({redis_slot(key), {"SET", key, "v" + key}});
    }
    for (const auto& answer : client.pipeline(writes)) {
        CHECK(answered_string(answer) == "OK");
    }

    REQUIRE(cluster.reshard(from, to, 300));
    size_t moved = 0;
    for (const std::string& key : keys) {
        moved += cluster.primary_of(redis_slot(key)) == to && redis_slot(key) < 300 ? 1 : 0;
    }
    CHECK(moved > 0);
    std::vector<std::pair<int, std::vector<std::string>>> reads;
    for (const std::string& key : keys) {
        reads.push_back({redis_slot(key), {"GET", key}});
    }
    auto answers = client.pipeline(reads);
    for (size_t i = 0; i < keys.size(); ++i) {
        INFO(keys[i]);
        CHECK(answered_string(answers[i]) == "v" + keys[i]);
        CHECK(client.slot_map().primary(redis_slot(keys[i])) ==
              node_at(cluster, *cluster.primary_of(redis_slot(keys[i]))));
    }
    CHECK(client.all_slots_served());
}

TEST_CASE(
    "after a primary is killed, the same client serves its slots again from the promoted "
    "replica within seconds",
    "[.][cluster]") {
    RedisCluster cluster;
    ClusterClient client(cluster.seeds(), RedisEndpoint{}, kTimeoutMs);
    const std::string key = "{failover}:k";
    const int slot = redis_slot(key);
    const size_t primary = *cluster.primary_of(slot);
    auto replica = cluster.replica_of(primary);
    REQUIRE(replica);
    REQUIRE(answered_string(client.command(slot, {"SET", key, "kept"})) == "OK");
    // WAIT counts the writes of its own connection: the client's to this primary.
    REQUIRE(client.command(slot, {"WAIT", "1", "2000"}).value->integer == 1);

    cluster.kill(primary);
    const auto killed = Clock::now();
    const auto deadline = killed + seconds(30);
    Result<ReplyHandle> answer;
    int attempts = 0;
    do {
        ++attempts;
        answer = client.command(slot, {"GET", key});
        if (!answer.ok()) {
            CHECK(answer.error->http_status == 503);
        }
    } while (!answer.ok() && Clock::now() < deadline);
    const double took = std::chrono::duration<double>(Clock::now() - killed).count();
    INFO("served again after " << took << " s and " << attempts << " attempts\n" << cluster.logs());
    REQUIRE(answer.ok());
    CHECK(reply_string(answer.value.get()) == "kept");
    CHECK(took < 15);
    CHECK(client.slot_map().primary(slot) == node_at(cluster, *replica));

    // Writes and function calls go to the new primary too.
    CHECK(answered_string(client.command(slot, {"SET", key, "after"})) == "OK");
    const std::string mapped = "p:{failover}";
    CHECK(answered_string(client.command(redis_slot(mapped), {"SET", mapped, "vrf_f sms"})) ==
          "OK");
    auto call = client.command(redis_slot(mapped), {"FCALL", "delivery_lookup", "2", mapped,
                                                    "pr:{failover}", "delivered 0", "60000"});
    REQUIRE(call.ok());
    CHECK(call.value->elements == 2);
    REQUIRE(cluster.wait_until_ok());
    CHECK(client.all_slots_served());
}

TEST_CASE("the cluster client authenticates to every node of a cluster with a password",
          "[.][cluster]") {
    RedisCluster cluster(RedisClusterOptions{3, "cluster-secret"});
    RedisEndpoint credentials;
    credentials.password = "cluster-secret";
    ClusterClient client(cluster.seeds(), credentials, kTimeoutMs);
    CHECK(client.all_slots_served());
    for (const std::string& key : key_per_primary(cluster)) {
        CHECK(answered_string(client.command(redis_slot(key), {"SET", key, "x"})) == "OK");
    }

    RedisEndpoint wrong;
    wrong.password = "not-it";
    ClusterClient refused(cluster.seeds(), wrong, kTimeoutMs, milliseconds(200));
    CHECK_FALSE(refused.all_slots_served());
    CHECK(refused.command(0, {"GET", "k"}).error->http_status == 503);
}
