// A Redis Sentinel deployment for one test, all on free 127.0.0.1 ports: a master, one or
// more replicas (`redis-server --replicaof`, no persistence, each in its own directory)
// and three sentinels (`redis-server <conf> --sentinel`, each with its own writable conf)
// that monitor the master as `vd` with quorum 2, down-after 1 s, failover-timeout 5 s and
// parallel-syncs 1. Construction returns once every replica is in sync and every sentinel
// names the master, knows the other two sentinels and sees every replica. Failovers are
// staged with SENTINEL FAILOVER or by killing the master. Data nodes and sentinels may
// require passwords. Every wait is bounded.
// Not for: verifyd itself (verifyd_instance.hpp), Redis Cluster, a shared deployment.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace verifyd_test {

struct SentinelClusterOptions {
    size_t replicas = 1;
    std::string redis_password;     // requirepass (and masterauth) of every data node
    std::string sentinel_password;  // requirepass of every sentinel
};

// The flat field/value array of a SENTINEL MASTER or SENTINEL REPLICAS entry as a map.
std::map<std::string, std::string> sentinel_fields(const RedisValue& entry);

class SentinelCluster {
  public:
    static constexpr const char* kMasterName = "vd";
    static constexpr size_t kSentinels = 3;

    // Node 0 is the first master; nodes 1..replicas replicate it. Throws
    // std::runtime_error, with every process's log, when it does not settle within 20 s.
    explicit SentinelCluster(SentinelClusterOptions options);
    explicit SentinelCluster(size_t replicas = 1);
    ~SentinelCluster();
    SentinelCluster(const SentinelCluster&) = delete;
    SentinelCluster& operator=(const SentinelCluster&) = delete;

    // VERIFYD_REDIS_SENTINELS: `127.0.0.1:port` of every sentinel, comma-separated.
    std::string sentinels_setting() const;
    size_t node_count() const { return node_ports_.size(); }
    int node_port(size_t node) const { return node_ports_.at(node); }
    int sentinel_port(size_t sentinel) const { return sentinel_ports_.at(sentinel); }

    // One command on a fresh connection (after AUTH when there is a password); throws
    // when the process cannot be reached.
    RedisValue node_command(size_t node, const std::vector<std::string>& args) const;
    RedisValue sentinel_command(size_t sentinel, const std::vector<std::string>& args) const;

    // The first element of ROLE ("master", "slave"), or "" when the node does not answer.
    std::string role(size_t node) const;
    // The master's port as `sentinel` names it (get-master-addr-by-name), if it answers.
    std::optional<int> reported_master(size_t sentinel) const;
    // Whether every sentinel names node `master` as master, knows the other sentinels and
    // sees at least `replicas` replicas that are up with their link to it ok.
    bool settled(size_t master, size_t replicas) const;
    // Polls settled() until it holds or `timeout` passes.
    bool wait_until_settled(size_t master, size_t replicas,
                            std::chrono::milliseconds timeout) const;
    // Polls role(node) until it is `role` or `timeout` passes.
    bool wait_for_role(size_t node, const std::string& role,
                       std::chrono::milliseconds timeout) const;
    // Whether node `replica` says (ROLE) it replicates node `master` with its link up.
    bool replicates(size_t replica, size_t master) const;
    // Polls replicates() until it holds or `timeout` passes.
    bool wait_for_replication(size_t replica, size_t master,
                              std::chrono::milliseconds timeout) const;
    // Whether any sentinel logged "+tilt": after a stall of the machine of over 2 s a
    // sentinel does nothing for 30 s, so a failover then cannot complete in a test's time.
    bool tilted() const;
    // Polls until `replicas` replicas report their link to node `master` up, within
    // `timeout`: data written to the master before then is on them.
    bool wait_for_replicas_in_sync(size_t master, size_t replicas,
                                   std::chrono::milliseconds timeout) const;

    // SENTINEL FAILOVER vd on sentinel 0, repeated while it answers an error (no replica
    // it would promote yet, a failover in progress) until `timeout`; true once it says OK.
    bool failover(std::chrono::milliseconds timeout);
    // SIGKILL of one data node: its connections drop at once.
    void kill_node(size_t node);

    // The logs of every process, each under a heading, for failure messages.
    std::string logs() const;

  private:
    // Starts node `index` (a replica of node 0 unless it is 0) on a free port.
    void start_node(size_t index);
    void start_sentinel(size_t index);

    TempDir dir_;
    SentinelClusterOptions options_;
    std::vector<int> node_ports_;
    std::vector<std::unique_ptr<Process>> nodes_;
    std::vector<int> sentinel_ports_;
    std::vector<std::unique_ptr<Process>> sentinels_;
};

}  // namespace verifyd_test
