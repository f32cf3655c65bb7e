// A Redis Cluster for one test, all on free 127.0.0.1 ports: N primaries (3 unless told)
// and one replica each (or as many as told), every node a redis-server with cluster mode on, no
// persistence, a 2 s node timeout and its own directory (nodes.conf), joined by `redis-cli
// --cluster create`. Construction returns once every node says cluster_state:ok, all agree on who
// serves which slot, and every replica is in sync. Tests stage the cluster's changes
// with it: a SIGKILL (and the failover that follows), a resharding, a slot moved by hand
// (node_command). Every wait is bounded. Not for: verifyd itself (verifyd_instance.hpp),
// Sentinel (sentinel_cluster.hpp), a shared deployment.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "verifyd/config.hpp"

namespace verifyd_test {

struct RedisClusterOptions {
    size_t primaries = 3;
    std::string password;  // requirepass and masterauth of every node; empty = none
    size_t replicas = 1;   // of each primary
};

class RedisCluster {
  public:
    // Throws std::runtime_error, with every node's log, when the cluster is not ok
    // within 30 s.
    explicit RedisCluster(RedisClusterOptions options);
    explicit RedisCluster(size_t primaries = 3);
    ~RedisCluster();
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    // `127.0.0.1:port` of every node, comma-separated (the cluster client's seeds).
    std::string seeds_setting() const;
    std::vector<verifyd::HostPort> seeds() const;
    size_t node_count() const { return ports_.size(); }
    int node_port(size_t node) const { return ports_.at(node); }
    // The node listening on `port`; throws when none does.
    size_t node_of_port(int port) const;

    // One command on a fresh connection (after AUTH when there is a password); throws
    // when the node cannot be reached. A Redis error reply is returned, not thrown.
    RedisValue node_command(size_t node, const std::vector<std::string>& args) const;
    // CLUSTER MYID.
    std::string node_id(size_t node) const;
    // The ports of the primaries serving slots, as the first live node maps them, in
    // the order of their first slot.
    std::vector<int> primary_ports() const;
    // The node that serves `slot`, as the first live node maps it.
    std::optional<size_t> primary_of(int slot) const;
    // A live node that says (ROLE) it replicates `primary`.
    std::optional<size_t> replica_of(size_t primary) const;

    // SIGKILL of one node: its connections drop at once; its replica takes over after
    // the node timeout (2 s) and an election.
    void kill(size_t node);
    bool alive(size_t node) const;

    // Moves `slots` slots from node `from` to node `to` with `redis-cli --cluster
    // reshard` (its keys too), then waits until the cluster is ok again; false when
    // either fails within `timeout`.
    bool reshard(size_t from, size_t to, int slots,
                 std::chrono::milliseconds timeout = std::chrono::seconds(40));

    // Whether every live node says cluster_state:ok and maps every slot to the same
    // live primaries, and every live replica is connected and in sync with its primary.
    bool ok() const;
    // Polls ok() until it holds or `timeout` passes (after a failover, a resharding).
    bool wait_until_ok(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

    // The logs of every node, each under a heading, for failure messages.
    std::string logs() const;

  private:
    void start_node(size_t index);
    // The first live node, for questions every node answers alike once ok().
    size_t first_alive() const;

    TempDir dir_;
    RedisClusterOptions options_;
    std::vector<int> ports_;
    std::vector<std::unique_ptr<Process>> nodes_;
};

}  // namespace verifyd_test
