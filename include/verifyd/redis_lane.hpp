// A pipelined Redis connection, for the API's calls: callers hand over a command and a
// callback and go on; the lane writes the commands of all callers back to back, reads
// the replies in order and answers each callback on the lane's thread. So no HTTP thread
// ever waits for Redis, and Redis reads many commands per wake-up. A lane's thread may
// serve other lanes too (RedisLaneThread): a cluster's primaries then share one poll, and
// a callback's next call to any of them goes out without a lock or a wake-up. Not for:
// the outbox's blocking calls (store), or deciding what a reply means beyond Redis's own
// errors (store).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/redis_connection.hpp"

namespace verifyd {

class Metrics;

struct LaneCommand {
    // FCALL's second argument is the script's name (lua/): its function in the library.
    std::vector<std::string> args;
    // A change that is acknowledged only once VERIFYD_REDIS_WAIT_REPLICAS replicas have it.
    bool must_replicate = false;
    // Preceded by ASKING: a cluster node that is importing the slot runs it (redis_router).
    bool asking = false;
};

// Exactly once per command: the reply, or the error (503 while Redis is unreachable,
// slower than the timeout, or a change did not reach enough replicas).
using ReplyCallback = std::function<void(Result<ReplyHandle>)>;

// The thread that serves lanes: it polls all their connections at once. It ends when the
// last lane it serves is gone.
class RedisLaneThread {
  public:
    RedisLaneThread();
    ~RedisLaneThread();
    RedisLaneThread(const RedisLaneThread&) = delete;
    RedisLaneThread& operator=(const RedisLaneThread&) = delete;

  private:
    friend class RedisLane;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class RedisLane {
  public:
    // Served by `thread`, beside its other lanes; with none, by a thread of its own.
    RedisLane(const RedisEndpoint& endpoint, int timeout_ms, Metrics* metrics,
              std::shared_ptr<RedisLaneThread> thread = nullptr);
    ~RedisLane();
    RedisLane(const RedisLane&) = delete;
    RedisLane& operator=(const RedisLane&) = delete;

    void submit(LaneCommand command, ReplyCallback done);
    // Answers every command not yet answered with 503; later commands are answered so at
    // once. Not from a callback of a lane of the same thread.
    void stop();
    // Whether the caller runs on this lane's thread (in a callback of one of its lanes).
    bool is_current_thread() const;

  private:
    struct Impl;
    friend struct RedisLaneThread::Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verifyd
