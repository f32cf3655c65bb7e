// A blocking Redis Cluster client for one thread (docs/API.md §12): it sends each command
// to its slot's primary and follows the cluster as it reshards and fails over. Not for:
// the slot map and what a redirect says (redis_slot_map.hpp), which slot a key is in
// (redis_slots.hpp), the API's pipelined lanes (redis_router.hpp, redis_lane), or the
// settings that turn cluster mode on (config.hpp); nothing here is thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/redis_connection.hpp"
#include "verifyd/redis_slot_map.hpp"

namespace verifyd {

class Metrics;

// A blocking cluster client for the thread that owns it (the outbox's, the timers', the
// events'). It learns the slot map from the first seed that answers and keeps one
// connection per primary, opened by open_redis (authenticated, with the function
// library loaded: Redis Cluster does not copy functions between primaries).
//
// A command goes to its slot's primary and follows the cluster: MOVED updates the map,
// retries on the named node and has the whole map read again before the next call; ASK
// sends ASKING and the command to the named node once, without changing the map;
// TRYAGAIN and CLUSTERDOWN are retried with a growing pause; a connection that fails
// before Redis could have run the command (refused, closed, reset) is dropped, the map
// read again from any node that answers, and the command retried; "Function not found"
// loads the library on that node and retries once. All within `retry_budget` of the
// call, after which the answer is 503 with retry_after (store_unavailable). A command
// that timed out is not sent again: Redis may have run it, and only the caller can tell.
//
// With metrics, each node's round trips (a command, or the batch of a pipeline sent to
// it, from the write to the last reply) and failures (a connection not opened or lost, a
// timeout; an error reply is an answer) are counted as the router counts the API's, and
// every redirect by its kind.
class ClusterClient {
  public:
    static constexpr std::chrono::milliseconds kRetryBudget{1000};

    // `credentials`: user and password of the data nodes (its host, port, database and
    // sentinels are not used). `timeout_ms` bounds each connect, read and write.
    // `metrics`, when given, outlives the client.
    ClusterClient(std::vector<HostPort> seeds, const RedisEndpoint& credentials, int timeout_ms,
                  std::chrono::milliseconds retry_budget = kRetryBudget,
                  Metrics* metrics = nullptr);
    ~ClusterClient();
    ClusterClient(const ClusterClient&) = delete;
    ClusterClient& operator=(const ClusterClient&) = delete;

    // One command whose keys are all in `slot` (redis_slot). Its reply, or the error it
    // became (a Redis error reply's ApiError comes with the reply, as on the lanes).
    Result<ReplyHandle> command(int slot, const std::vector<std::string>& args);
    // Many commands, each node's sent in one round trip; the answers in the input order.
    // Each command is redirected and retried on its own, as command() does.
    std::vector<Result<ReplyHandle>> pipeline(
        const std::vector<std::pair<int, std::vector<std::string>>>& commands);

    // Reads the slot map again (CLUSTER SLOTS) from a primary, a seed or any node seen
    // so far; false when none answered with a map.
    bool refresh();
    // For /readyz: every slot has a primary in the map and every primary answers PING
    // (after one refresh when the map or a primary fails that).
    bool all_slots_served();
    // The map the next command is routed by.
    const SlotMap& slot_map() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verifyd
