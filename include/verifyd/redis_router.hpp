// Which pipelined lane (redis_lane.hpp) an API command goes to. On one Redis (or behind
// Sentinel) a few lanes to it, taken in turn. On a Redis Cluster (docs/API.md §12) the
// lanes of the primary that serves the slot of the command's keys, by a slot map
// (redis_slot_map.hpp) read from the cluster (redis_cluster.hpp) and kept fresh: MOVED
// updates the map and sends the command again to the named node, ASK sends it there
// once after ASKING, TRYAGAIN and CLUSTERDOWN are retried within a budget and then
// answered 503 with retry_after.
// A command whose connection failed is answered 503 (its fate is unknown; an
// Idempotency-Key makes a retry safe) and the map is read again at once. Not for: the
// blocking calls of the outbox, timers and events (store: ClusterClient), or what a
// reply means (store).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/redis_lane.hpp"

namespace verifyd {

class Metrics;

// The slot of the keys a command names (FCALL's first key, the first stream of
// XREADGROUP, XGROUP's key, else its first argument); -1 when it names none (PING).
int command_slot(const std::vector<std::string>& args);

class RedisRouter {
  public:
    // `lanes`: lanes per Redis (per primary of a cluster).
    RedisRouter(const RedisEndpoint& endpoint, int timeout_ms, int lanes, Metrics* metrics);
    ~RedisRouter();
    RedisRouter(const RedisRouter&) = delete;
    RedisRouter& operator=(const RedisRouter&) = delete;

    // Answers `done` exactly once, as RedisLane::submit does. A command submitted from a
    // lane's own callback stays on that lane when it goes to the same Redis.
    void submit(LaneCommand command, ReplyCallback done);
    // Whether Redis answers a PING: on a cluster, every one of the 16384 slots has a
    // primary in the map and every primary answers.
    void ping(std::function<void(bool)> done);
    // Answers every command not yet answered with 503 and stops the lanes.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verifyd
