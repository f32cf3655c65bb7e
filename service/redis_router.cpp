// The routing of redis_router.hpp. On a cluster one thread of its own (the refresher)
// reads the slot map (CLUSTER SLOTS, through a ClusterClient), again when a reply or a
// lost connection says the map is stale and every few seconds, and sends the commands
// that wait for a retry (TRYAGAIN, CLUSTERDOWN) when their time comes; the lanes' threads
// follow MOVED and ASK at once, in the callback of the reply that says so.
#include "verifyd/redis_router.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "verifyd/log.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/redis_cluster.hpp"
#include "verifyd/redis_slot_map.hpp"
#include "verifyd/redis_slots.hpp"

namespace verifyd {
namespace {

using Clock = std::chrono::steady_clock;

// A command is retried while the cluster is busy (TRYAGAIN, CLUSTERDOWN) for at most
// kRetryBudget, after pauses from kFirstRetryPause, doubling; MOVED and ASK are followed
// at most kMaxClusterRedirects times (redis_slot_map.hpp). The map is read again every
// kRefreshPeriod.
constexpr auto kRetryBudget = std::chrono::milliseconds(1000);
constexpr auto kFirstRetryPause = std::chrono::milliseconds(20);
constexpr auto kRefreshPeriod = std::chrono::seconds(5);

RedisEndpoint node_endpoint(const RedisEndpoint& endpoint, const ClusterNode& node) {
    RedisEndpoint at_node = endpoint;
    at_node.unix_socket = false;
    at_node.host = node.host;
    at_node.port = node.port;
    at_node.db = 0;  // a cluster has no other database
    at_node.sentinels.clear();
    at_node.cluster_seeds.clear();
    return at_node;
}

void answer(const ReplyCallback& done, Result<ReplyHandle> result) {
    try {
        done(std::move(result));
    } catch (const std::exception& e) {
        log_event(LogLevel::Error, "redis reply callback failed", {{"error", e.what()}});
    }
}

}  // namespace

int command_slot(const std::vector<std::string>& args) {
    if (args.empty()) return -1;
    if (args[0] == "FCALL" || args[0] == "FCALL_RO") {
        if (args.size() > 3 && std::atoi(args[2].c_str()) > 0) return redis_slot(args[3]);
        return -1;
    }
    if (args[0] == "PING" || args.size() < 2) return -1;
    // The commands whose first key is not their first argument.
    if (args[0] == "XREADGROUP" || args[0] == "XREAD") {
        auto streams = std::find(args.begin(), args.end(), "STREAMS");
        return streams + 1 < args.end() ? redis_slot(*(streams + 1)) : -1;
    }
    if (args[0] == "XGROUP" || args[0] == "XINFO")
        return args.size() > 2 ? redis_slot(args[2]) : -1;
    return redis_slot(args[1]);
}

struct RedisRouter::Impl {
    // How far one command has come: redirections followed, and when it was first sent.
    struct Attempt {
        int redirects = 0;
        Clock::time_point started = Clock::now();
    };
    struct Retry {
        Clock::time_point at;
        LaneCommand command;
        ReplyCallback done;
        Attempt attempt;
    };

    RedisEndpoint endpoint;
    int timeout_ms;
    int lanes_per_node;
    Metrics* metrics;
    std::atomic<unsigned> next_lane{0};

    // One Redis: its lanes.
    std::vector<std::unique_ptr<RedisLane>> lanes;

    // A cluster: the map and each primary's lanes (made when a command first goes
    // there, kept while the router lives), the retries and the refresher.
    bool cluster = false;
    std::mutex mutex;
    std::shared_ptr<const SlotMap> map;
    // The threads of the primaries' lanes: lane i of every primary is served by thread i,
    // so that a primary more adds no thread, and a call a callback makes to another
    // primary goes out without a wake-up.
    std::vector<std::shared_ptr<RedisLaneThread>> lane_threads;
    // A primary's lanes, and its metrics (null without metrics).
    struct Node {
        std::vector<std::unique_ptr<RedisLane>> lanes;
        Metrics::RedisNode* stats = nullptr;
    };
    std::map<std::string, Node> nodes;
    std::vector<Retry> retries;
    bool refresh_wanted = false;
    bool stopping = false;
    std::atomic<bool> stopped{false};  // stopping, read without the mutex
    std::condition_variable wake;
    std::unique_ptr<ClusterClient> client;  // the refresher's
    std::thread refresher;

    Impl(const RedisEndpoint& endpoint_in, int timeout, int lanes_in, Metrics* metrics_in)
        : endpoint(endpoint_in),
          timeout_ms(timeout),
          lanes_per_node(std::max(1, lanes_in)),
          metrics(metrics_in),
          cluster(!endpoint_in.cluster_seeds.empty()) {
        if (!cluster) {
            for (int i = 0; i < lanes_per_node; ++i)
                lanes.push_back(std::make_unique<RedisLane>(endpoint, timeout_ms, metrics));
            return;
        }
        for (int i = 0; i < lanes_per_node; ++i)
            lane_threads.push_back(std::make_shared<RedisLaneThread>());
        client = std::make_unique<ClusterClient>(endpoint.cluster_seeds, endpoint, timeout_ms,
                                                 ClusterClient::kRetryBudget, metrics);
        map = std::make_shared<const SlotMap>();
        refresh();
        refresher = std::thread([this] { run_refresher(); });
    }

    ~Impl() { stop(); }

    // The lane for a command to `candidates`: the calling lane's own when it is one of
    // them, else the next in turn.
    RedisLane& pick(std::vector<std::unique_ptr<RedisLane>>& candidates) {
        for (auto& lane : candidates)
            if (lane->is_current_thread()) return *lane;
        return *candidates[next_lane.fetch_add(1, std::memory_order_relaxed) % candidates.size()];
    }

    // A lane to `node`, and its metrics.
    std::pair<RedisLane*, Metrics::RedisNode*> lane_to(const ClusterNode& node) {
        std::lock_guard<std::mutex> lock(mutex);
        Node& entry = nodes[node.name()];
        if (entry.lanes.empty()) {
            for (int i = 0; i < lanes_per_node; ++i)
                entry.lanes.push_back(std::make_unique<RedisLane>(
                    node_endpoint(endpoint, node), timeout_ms, metrics, lane_threads[i]));
            if (metrics) entry.stats = &metrics->redis_node(node.name());
        }
        return {&pick(entry.lanes), entry.stats};
    }

    std::shared_ptr<const SlotMap> current_map() {
        std::lock_guard<std::mutex> lock(mutex);
        return map;
    }

    void want_refresh() {
        std::lock_guard<std::mutex> lock(mutex);
        refresh_wanted = true;
        wake.notify_all();
    }

    void submit(LaneCommand command, ReplyCallback done) {
        if (!cluster) return pick(lanes).submit(std::move(command), std::move(done));
        route(std::move(command), std::move(done), Attempt{}, std::nullopt);
    }

    // Sends `command` to the primary of its slot, or to `asked` after ASKING.
    void route(LaneCommand command, ReplyCallback done, Attempt attempt,
               std::optional<ClusterNode> asked) {
        if (stopped.load(std::memory_order_relaxed))
            return answer(done, {store_unavailable(), nullptr});
        const int slot = command_slot(command.args);
        std::optional<ClusterNode> node = asked;
        if (!node) {
            auto routes = current_map();
            if (slot >= 0) {
                node = routes->primary(slot);
            } else {
                auto primaries = routes->primaries();
                if (!primaries.empty()) node = primaries.front();
            }
        }
        if (!node) {
            want_refresh();
            return answer(done, {store_unavailable(), nullptr});
        }
        auto [lane, stats] = lane_to(*node);
        if (stats && attempt.redirects == 0 && !asked) done = observed(*stats, std::move(done));
        command.asking = asked.has_value();
        LaneCommand sent = command;
        lane->submit(
            std::move(sent), [this, command = std::move(command), done = std::move(done), attempt,
                              slot, node = *node](Result<ReplyHandle> reply) mutable {
                follow(std::move(command), std::move(done), attempt, slot, node, std::move(reply));
            });
    }

    // `done`, and the command's time and failure counted for the primary it went to first.
    static ReplyCallback observed(Metrics::RedisNode& stats, ReplyCallback done) {
        return [&stats, started = Clock::now(), done = std::move(done)](Result<ReplyHandle> reply) {
            stats.timings.observe(std::chrono::duration<double>(Clock::now() - started).count());
            if (reply.error && !reply.value) stats.errors.fetch_add(1, std::memory_order_relaxed);
            done(std::move(reply));
        };
    }

    // What a reply asks: nothing more (answered), another node, or a retry.
    void follow(LaneCommand command, ReplyCallback done, Attempt attempt, int slot,
                const ClusterNode& node, Result<ReplyHandle> reply) {
        if (!reply.error) return answer(done, std::move(reply));
        if (!reply.value || reply.value->type != REDIS_REPLY_ERROR) {
            // The connection failed: the node may be gone, so the map may be stale.
            want_refresh();
            return answer(done, std::move(reply));
        }
        Redirect redirect = parse_redirect(reply_string(reply.value.get()));
        if (redirect.node.host.empty()) redirect.node.host = node.host;
        if (metrics) metrics->count_redis_redirect(redirect.kind);
        switch (redirect.kind) {
            case Redirect::Kind::None:
                return answer(done, std::move(reply));
            case Redirect::Kind::Moved:
            case Redirect::Kind::Ask:
                if (++attempt.redirects > kMaxClusterRedirects) {
                    want_refresh();
                    return answer(done, {store_unavailable(), nullptr});
                }
                if (redirect.kind == Redirect::Kind::Ask)
                    return route(std::move(command), std::move(done), attempt, redirect.node);
                moved(redirect.slot >= 0 ? redirect.slot : slot, redirect.node);
                return route(std::move(command), std::move(done), attempt, std::nullopt);
            case Redirect::Kind::TryAgain:
            case Redirect::Kind::ClusterDown:
                return retry_later(std::move(command), std::move(done), attempt,
                                   redirect.kind == Redirect::Kind::ClusterDown);
        }
    }

    void moved(int slot, const ClusterNode& node) {
        std::lock_guard<std::mutex> lock(mutex);
        auto updated = std::make_shared<SlotMap>(*map);
        updated->move(slot, node);
        map = std::move(updated);
        refresh_wanted = true;
        wake.notify_all();
    }

    // A growing pause (20, 40, 80 ms …) while within the budget, then 503.
    void retry_later(LaneCommand command, ReplyCallback done, Attempt attempt, bool cluster_down) {
        const auto now = Clock::now();
        auto pause = kFirstRetryPause * (1 << std::min(attempt.redirects, 5));
        ++attempt.redirects;
        if (now + pause - attempt.started > kRetryBudget)
            return answer(done, {store_unavailable(), nullptr});
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) return answer(done, {store_unavailable(), nullptr});
        retries.push_back({now + pause, std::move(command), std::move(done), attempt});
        refresh_wanted |= cluster_down;
        wake.notify_all();
    }

    void refresh() {
        if (!client->refresh()) return;
        auto fresh = std::make_shared<const SlotMap>(client->slot_map());
        std::lock_guard<std::mutex> lock(mutex);
        map = std::move(fresh);
    }

    void run_refresher() {
        auto next_refresh = Clock::now() + kRefreshPeriod;
        std::unique_lock<std::mutex> lock(mutex);
        while (!stopping) {
            auto until = next_refresh;
            for (const Retry& retry : retries) until = std::min(until, retry.at);
            wake.wait_until(lock, until, [&] {
                if (stopping || refresh_wanted) return true;
                for (const Retry& retry : retries)
                    if (retry.at <= Clock::now()) return true;
                return false;
            });
            if (stopping) break;
            const auto now = Clock::now();
            std::vector<Retry> due;
            for (auto it = retries.begin(); it != retries.end();) {
                if (it->at <= now) {
                    due.push_back(std::move(*it));
                    it = retries.erase(it);
                } else {
                    ++it;
                }
            }
            const bool read_map = refresh_wanted || now >= next_refresh;
            refresh_wanted = false;
            lock.unlock();
            if (read_map) {
                refresh();
                next_refresh = Clock::now() + kRefreshPeriod;
            }
            for (Retry& retry : due)
                route(std::move(retry.command), std::move(retry.done), retry.attempt, std::nullopt);
            lock.lock();
        }
    }

    void ping(std::function<void(bool)> done) {
        if (!cluster) {
            return pick(lanes).submit(
                {{"PING"}, false},
                [done = std::move(done)](Result<ReplyHandle> reply) { done(reply.ok()); });
        }
        auto routes = current_map();
        const auto primaries = routes->primaries();
        if (!routes->complete() || primaries.empty()) {
            want_refresh();
            return done(false);
        }
        struct Gathered {
            std::mutex mutex;
            size_t left;
            bool all_answered = true;
            std::function<void(bool)> done;
        };
        auto gathered = std::make_shared<Gathered>();
        gathered->left = primaries.size();
        gathered->done = std::move(done);
        for (const ClusterNode& node : primaries)
            lane_to(node).first->submit({{"PING"}, false},
                                        [this, gathered](Result<ReplyHandle> reply) {
                                            bool last, all;
                                            {
                                                std::lock_guard<std::mutex> lock(gathered->mutex);
                                                gathered->all_answered &= reply.ok();
                                                last = --gathered->left == 0;
                                                all = gathered->all_answered;
                                            }
                                            if (!reply.ok()) want_refresh();
                                            if (last) gathered->done(all);
                                        });
    }

    void stop() {
        std::vector<Retry> left;
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (stopping) return;
            stopping = true;
            stopped = true;
            left = std::move(retries);
            retries.clear();
            wake.notify_all();
        }
        if (refresher.joinable()) refresher.join();
        for (Retry& retry : left) answer(retry.done, {store_unavailable(), nullptr});
        for (auto& lane : lanes) lane->stop();
        // Stopping a lane answers its commands, whose callbacks may take the mutex.
        std::vector<RedisLane*> cluster_lanes;
        {
            std::lock_guard<std::mutex> lock(mutex);
            for (auto& [name, node] : nodes)
                for (auto& lane : node.lanes) cluster_lanes.push_back(lane.get());
        }
        for (RedisLane* lane : cluster_lanes) lane->stop();
    }
};

RedisRouter::RedisRouter(const RedisEndpoint& endpoint, int timeout_ms, int lanes, Metrics* metrics)
    : impl_(std::make_unique<Impl>(endpoint, timeout_ms, lanes, metrics)) {}

RedisRouter::~RedisRouter() = default;

void RedisRouter::submit(LaneCommand command, ReplyCallback done) {
    impl_->submit(std::move(command), std::move(done));
}

void RedisRouter::ping(std::function<void(bool)> done) {
    impl_->ping(std::move(done));
}

void RedisRouter::stop() {
    impl_->stop();
}

}  // namespace verifyd
