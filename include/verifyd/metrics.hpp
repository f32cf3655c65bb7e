// Prometheus metrics, kept in lock-free counters and rendered in the text exposition
// format by hand (no Debian package provides a C++ client). Not for: per-request logs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>

#include "verifyd/errors.hpp"
#include "verifyd/redis_slot_map.hpp"

namespace verifyd {

class Metrics {
  public:
    void observe_request(const std::string& route, int http_status, double seconds);
    void count_error(ErrorCode code);
    void count_redis_error();
    void count_send(bool sandbox, const std::string& channel);
    // outcome: sent, delivered (a receipt said so), failed, fallback (WhatsApp gave way to
    // SMS) or dropped (not sent because the verification ended first).
    void count_delivery(const std::string& provider, const std::string& channel,
                        const std::string& outcome);
    void count_delivery_retry(const std::string& provider, const std::string& channel);
    // Why a message failed, was dropped or fell back (outcome failed, dropped, fallback),
    // as a bounded word: refused, retries_exhausted, receipt, a WhatsApp refusal class
    // (recipient_not_capable, …), no_receipt, or the drop's reason.
    void count_delivery_failure(const std::string& provider, const std::string& channel,
                                const std::string& outcome, const std::string& reason);
    // A command a Redis lane wrote was answered `seconds` later (pipelined with its batch).
    void observe_redis_command(double seconds);
    // A Redis Cluster redirected a command, of the API (redis_router.hpp) or of a
    // background thread (redis_cluster.hpp); None is not counted.
    void count_redis_redirect(Redirect::Kind kind);

    static constexpr std::array<double, 11> kRedisBuckets = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25};
    // Redis round trips, lock-free: observed on the lanes' threads. Buckets are not
    // cumulative here (one add per answer); render sums them. The sum is in µs.
    struct RedisTimings {
        std::array<std::atomic<uint64_t>, kRedisBuckets.size() + 1> buckets{};
        std::atomic<uint64_t> sum_us{0};
        void observe(double seconds);
        // The histogram's lines, `labels` ("" or `node="…"`) in each.
        void render(std::ostringstream& out, const char* name, const std::string& labels) const;
    };
    // One primary of a Redis Cluster, by "host:port": the round trips and failures of
    // the API's commands (from the first send, through redirections, to the answer) and
    // of the background threads' (one command's or one pipelined batch's, from the write
    // to the last reply). The reference stays valid as long as the Metrics.
    struct RedisNode {
        RedisTimings timings;
        std::atomic<uint64_t> errors{0};
    };
    RedisNode& redis_node(const std::string& node);
    // A verification sent, approved, locked or expired, by its number's ISO country
    // (bounded: about 250 values) and the channel its send asked for, so that conversion
    // by country or by channel is one division.
    void count_verification(const std::string& event, const std::string& country,
                            const std::string& channel);
    // A receipt said delivered, `seconds` after the send.
    void observe_delivery_latency(const std::string& channel, double seconds);
    // A send refused by the destination policy or the fraud guard: the rule, and the
    // number's ISO country.
    void count_send_refusal(const std::string& rule, const std::string& country);
    // The fraud guard in monitor mode let a send through that it would have refused.
    void count_monitored_send(const std::string& reason, const std::string& country);
    // A pause that began (kind prefix or country, its reason, its ISO country); and the
    // pauses in force, from the pause index.
    void count_fraud_pause(const std::string& kind, const std::string& reason,
                           const std::string& country);
    void set_fraud_active_pauses(long long pauses);
    // A receipt arrived: applied (delivered, failed, fallback), ignored, parked (its
    // message not known yet) or unknown.
    void count_receipt(const std::string& provider, const std::string& outcome);
    // A receipt applied to a message (lua/delivery/receipt.lua's outcome): counted, and a
    // delivery's latency (`latency_ms` since the send) observed on `channel`; `reason` is
    // a fallback's.
    void count_applied_receipt(const std::string& provider, const std::string& outcome,
                               const std::string& channel, int64_t latency_ms,
                               const std::string& reason);
    // Verification events: queued (first seen by the dispatcher), sent, failed (a POST
    // that will be retried); and how many wait to be delivered.
    void count_event(const std::string& outcome);
    void set_events_pending(long long events);
    void set_outbox(long long undelivered_jobs, double oldest_job_age_seconds);
    // The API listener's connections: open now, and closed at accept for being one more
    // than VERIFYD_MAX_CONNECTIONS.
    void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
    void count_connection_refused() {
        refused_connections_.fetch_add(1, std::memory_order_relaxed);
    }
    std::string render() const;

    static constexpr std::array<double, 12> kLatencyBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
    static constexpr std::array<double, 11> kDeliveryBuckets = {1,  2,  3,   5,   10, 20,
                                                                30, 60, 120, 300, 600};

  private:
    struct RouteStats {
        std::array<uint64_t, kLatencyBuckets.size()> buckets{};
        uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, RouteStats> latency_;
    std::map<int, uint64_t> errors_;
    std::map<std::pair<bool, std::string>, uint64_t> sends_;
    std::map<std::array<std::string, 3>, uint64_t> deliveries_;
    std::map<std::pair<std::string, std::string>, uint64_t> delivery_retries_;
    std::map<std::array<std::string, 4>, uint64_t> delivery_failures_;
    std::map<std::array<std::string, 3>, uint64_t> verifications_;
    struct DeliveryLatency {
        std::array<uint64_t, kDeliveryBuckets.size()> buckets{};
        uint64_t count = 0;
        double sum = 0;
    };
    std::map<std::string, DeliveryLatency> delivery_latency_;
    std::map<std::pair<std::string, std::string>, uint64_t> receipts_;
    std::map<std::pair<std::string, std::string>, uint64_t> send_refusals_;
    std::map<std::pair<std::string, std::string>, uint64_t> monitored_sends_;
    std::map<std::array<std::string, 3>, uint64_t> fraud_pauses_;
    long long fraud_active_pauses_ = 0;
    std::map<std::string, uint64_t> events_;
    long long events_pending_ = 0;
    long long undelivered_jobs_ = 0;
    double oldest_job_age_seconds_ = 0;
    std::atomic<uint64_t> redis_errors_{0};
    std::array<std::atomic<uint64_t>, 4> redis_redirects_{};  // by Redirect::Kind, from Moved
    RedisTimings redis_timings_;
    std::map<std::string, std::unique_ptr<RedisNode>> redis_nodes_;
    std::atomic<long long> open_connections_{0};
    std::atomic<uint64_t> refused_connections_{0};
};

}  // namespace verifyd
