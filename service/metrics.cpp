// Prometheus text exposition (format 0.0.4) of the counters in Metrics.
#include "verifyd/metrics.hpp"

#include <cmath>
#include <sstream>

#include "verifyd/log.hpp"

namespace verifyd {

void Metrics::observe_request(const std::string& route, int http_status, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, http_status}];
    RouteStats& stats = latency_[route];
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
        if (seconds <= kLatencyBuckets[i]) ++stats.buckets[i];
    ++stats.count;
    stats.sum += seconds;
}

void Metrics::count_error(ErrorCode code) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++errors_[static_cast<int>(code)];
}

void Metrics::count_redis_error() {
    redis_errors_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_send(bool sandbox, const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++sends_[{sandbox, channel}];
}

void Metrics::count_delivery(const std::string& provider, const std::string& channel,
                             const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++deliveries_[{provider, channel, outcome}];
}

void Metrics::count_delivery_failure(const std::string& provider, const std::string& channel,
                                     const std::string& outcome, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++delivery_failures_[{provider, channel, outcome, reason.empty() ? "unknown" : reason}];
}

void Metrics::count_redis_redirect(Redirect::Kind kind) {
    if (kind == Redirect::Kind::None) return;
    const size_t index = static_cast<size_t>(kind) - static_cast<size_t>(Redirect::Kind::Moved);
    redis_redirects_[index].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RedisTimings::observe(double seconds) {
    size_t bucket = 0;
    while (bucket < kRedisBuckets.size() && seconds > kRedisBuckets[bucket]) ++bucket;
    buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_us.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e6)), std::memory_order_relaxed);
}

void Metrics::RedisTimings::render(std::ostringstream& out, const char* name,
                                   const std::string& labels) const {
    const std::string before_le = labels.empty() ? "{" : "{" + labels + ",";
    const std::string alone = labels.empty() ? "" : "{" + labels + "}";
    uint64_t below = 0;
    for (size_t i = 0; i < kRedisBuckets.size(); ++i) {
        below += buckets[i].load(std::memory_order_relaxed);
        out << name << "_bucket" << before_le << "le=\"" << kRedisBuckets[i] << "\"} " << below
            << "\n";
    }
    below += buckets[kRedisBuckets.size()].load(std::memory_order_relaxed);
    out << name << "_bucket" << before_le << "le=\"+Inf\"} " << below << "\n"
        << name << "_sum" << alone << " "
        << static_cast<double>(sum_us.load(std::memory_order_relaxed)) / 1e6 << "\n"
        << name << "_count" << alone << " " << below << "\n";
}

void Metrics::observe_redis_command(double seconds) {
    redis_timings_.observe(seconds);
}

Metrics::RedisNode& Metrics::redis_node(const std::string& node) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& entry = redis_nodes_[node];
    if (!entry) entry = std::make_unique<RedisNode>();
    return *entry;
}

void Metrics::count_delivery_retry(const std::string& provider, const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++delivery_retries_[{provider, channel}];
}

void Metrics::count_verification(const std::string& event, const std::string& country,
                                 const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++verifications_[{event, country.empty() ? "unknown" : country,
                      channel.empty() ? "unknown" : channel}];
}

void Metrics::observe_delivery_latency(const std::string& channel, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeliveryLatency& latency = delivery_latency_[channel];
    for (size_t i = 0; i < kDeliveryBuckets.size(); ++i)
        if (seconds <= kDeliveryBuckets[i]) ++latency.buckets[i];
    ++latency.count;
    latency.sum += seconds;
}

void Metrics::count_send_refusal(const std::string& rule, const std::string& country) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++send_refusals_[{rule, country.empty() ? "unknown" : country}];
}

void Metrics::count_monitored_send(const std::string& reason, const std::string& country) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++monitored_sends_[{reason, country.empty() ? "unknown" : country}];
}

void Metrics::count_fraud_pause(const std::string& kind, const std::string& reason,
                                const std::string& country) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++fraud_pauses_[{kind, reason, country.empty() ? "unknown" : country}];
}

void Metrics::set_fraud_active_pauses(long long pauses) {
    std::lock_guard<std::mutex> lock(mutex_);
    fraud_active_pauses_ = pauses;
}

void Metrics::count_receipt(const std::string& provider, const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++receipts_[{provider, outcome}];
}

void Metrics::count_applied_receipt(const std::string& provider, const std::string& outcome,
                                    const std::string& channel, int64_t latency_ms,
                                    const std::string& reason) {
    count_receipt(provider, outcome);
    if (outcome == "delivered") {
        observe_delivery_latency(channel, static_cast<double>(latency_ms) / 1000.0);
        count_delivery(provider, channel, "delivered");
    } else if (outcome == "failed") {
        count_delivery(provider, channel, "failed");
        count_delivery_failure(provider, channel, "failed", "receipt");
    } else if (outcome == "fallback") {
        count_delivery(provider, "whatsapp", "fallback");
        count_delivery_failure(provider, "whatsapp", "fallback", reason);
    }
}

void Metrics::count_event(const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++events_[outcome];
}

void Metrics::set_events_pending(long long events) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_pending_ = events;
}

void Metrics::set_outbox(long long undelivered_jobs, double oldest_job_age_seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    undelivered_jobs_ = undelivered_jobs;
    oldest_job_age_seconds_ = oldest_job_age_seconds;
}

std::string Metrics::render() const {
    std::ostringstream out;
    std::lock_guard<std::mutex> lock(mutex_);
    out << "# HELP verifyd_http_requests_total HTTP requests by route and status.\n"
        << "# TYPE verifyd_http_requests_total counter\n";
    for (const auto& [key, count] : requests_)
        out << "verifyd_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second
            << "\"} " << count << "\n";

    out << "# HELP verifyd_http_request_duration_seconds Time to answer a request.\n"
        << "# TYPE verifyd_http_request_duration_seconds histogram\n";
    for (const auto& [route, stats] : latency_) {
        for (size_t i = 0; i < kLatencyBuckets.size(); ++i)
            out << "verifyd_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
                << kLatencyBuckets[i] << "\"} " << stats.buckets[i] << "\n";
        out << "verifyd_http_request_duration_seconds_bucket{route=\"" << route
            << "\",le=\"+Inf\"} " << stats.count << "\n"
            << "verifyd_http_request_duration_seconds_sum{route=\"" << route << "\"} " << stats.sum
            << "\n"
            << "verifyd_http_request_duration_seconds_count{route=\"" << route << "\"} "
            << stats.count << "\n";
    }

    out << "# HELP verifyd_errors_total Error responses by API error code.\n"
        << "# TYPE verifyd_errors_total counter\n";
    for (const auto& [code, count] : errors_)
        out << "verifyd_errors_total{code=\"" << code << "\",type=\""
            << error_info(static_cast<ErrorCode>(code)).type << "\"} " << count << "\n";

    out << "# HELP verifyd_sends_total Verifications created, by mode and channel.\n"
        << "# TYPE verifyd_sends_total counter\n";
    for (const auto& [key, count] : sends_)
        out << "verifyd_sends_total{mode=\"" << (key.first ? "sandbox" : "live") << "\",channel=\""
            << key.second << "\"} " << count << "\n";

    out << "# HELP verifyd_deliveries_total Delivery outcomes by provider and channel.\n"
        << "# TYPE verifyd_deliveries_total counter\n";
    for (const auto& [key, count] : deliveries_)
        out << "verifyd_deliveries_total{provider=\"" << key[0] << "\",channel=\"" << key[1]
            << "\",outcome=\"" << key[2] << "\"} " << count << "\n";
    out << "# HELP verifyd_delivery_failures_total Messages that failed, were dropped or fell "
           "back, by provider, channel, outcome and reason.\n"
        << "# TYPE verifyd_delivery_failures_total counter\n";
    for (const auto& [key, count] : delivery_failures_)
        out << "verifyd_delivery_failures_total{provider=\"" << key[0] << "\",channel=\"" << key[1]
            << "\",outcome=\"" << key[2] << "\",reason=\"" << key[3] << "\"} " << count << "\n";
    out << "# HELP verifyd_delivery_retries_total Delivery attempts to be retried later.\n"
        << "# TYPE verifyd_delivery_retries_total counter\n";
    for (const auto& [key, count] : delivery_retries_)
        out << "verifyd_delivery_retries_total{provider=\"" << key.first << "\",channel=\""
            << key.second << "\"} " << count << "\n";
    out << "# HELP verifyd_delivery_queue_depth Live messages not yet delivered or failed.\n"
        << "# TYPE verifyd_delivery_queue_depth gauge\n"
        << "verifyd_delivery_queue_depth " << undelivered_jobs_ << "\n"
        << "# HELP verifyd_delivery_oldest_job_age_seconds Age of the oldest undelivered "
           "message.\n"
        << "# TYPE verifyd_delivery_oldest_job_age_seconds gauge\n"
        << "verifyd_delivery_oldest_job_age_seconds " << oldest_job_age_seconds_ << "\n";

    out << "# HELP verifyd_verifications_total Verifications sent, approved, locked and "
           "expired (expiries while events are recorded), by the number's ISO country and the "
           "channel the send asked for.\n"
        << "# TYPE verifyd_verifications_total counter\n";
    for (const auto& [key, count] : verifications_)
        out << "verifyd_verifications_total{event=\"" << key[0] << "\",country=\"" << key[1]
            << "\",channel=\"" << key[2] << "\"} " << count << "\n";
    out << "# HELP verifyd_send_refusals_total Sends refused by the destination policy, the "
           "client limits or the fraud guard, by rule and the number's ISO country.\n"
        << "# TYPE verifyd_send_refusals_total counter\n";
    for (const auto& [key, count] : send_refusals_)
        out << "verifyd_send_refusals_total{rule=\"" << key.first << "\",country=\"" << key.second
            << "\"} " << count << "\n";
    out << "# HELP verifyd_fraud_monitored_sends_total Sends the fraud guard in monitor mode "
           "let through but would have refused, by reason and ISO country.\n"
        << "# TYPE verifyd_fraud_monitored_sends_total counter\n";
    for (const auto& [key, count] : monitored_sends_)
        out << "verifyd_fraud_monitored_sends_total{reason=\"" << key.first << "\",country=\""
            << key.second << "\"} " << count << "\n";
    out << "# HELP verifyd_fraud_pauses_total Pauses the fraud guard began, by kind (prefix "
           "or country), reason and ISO country.\n"
        << "# TYPE verifyd_fraud_pauses_total counter\n";
    for (const auto& [key, count] : fraud_pauses_)
        out << "verifyd_fraud_pauses_total{kind=\"" << key[0] << "\",reason=\"" << key[1]
            << "\",country=\"" << key[2] << "\"} " << count << "\n";
    out << "# HELP verifyd_fraud_active_pauses Fraud guard pauses in force, all accounts.\n"
        << "# TYPE verifyd_fraud_active_pauses gauge\n"
        << "verifyd_fraud_active_pauses " << fraud_active_pauses_ << "\n";
    out << "# HELP verifyd_delivery_latency_seconds Time from the send to the provider's "
           "delivered receipt, by the channel that delivered.\n"
        << "# TYPE verifyd_delivery_latency_seconds histogram\n";
    for (const auto& [channel, latency] : delivery_latency_) {
        for (size_t i = 0; i < kDeliveryBuckets.size(); ++i)
            out << "verifyd_delivery_latency_seconds_bucket{channel=\"" << channel << "\",le=\""
                << kDeliveryBuckets[i] << "\"} " << latency.buckets[i] << "\n";
        out << "verifyd_delivery_latency_seconds_bucket{channel=\"" << channel << "\",le=\"+Inf\"} "
            << latency.count << "\n"
            << "verifyd_delivery_latency_seconds_sum{channel=\"" << channel << "\"} " << latency.sum
            << "\n"
            << "verifyd_delivery_latency_seconds_count{channel=\"" << channel << "\"} "
            << latency.count << "\n";
    }
    out << "# HELP verifyd_redis_command_duration_seconds Time from writing a command to Redis "
           "to its answer, on the API's pipelined lanes.\n"
        << "# TYPE verifyd_redis_command_duration_seconds histogram\n";
    redis_timings_.render(out, "verifyd_redis_command_duration_seconds", "");
    if (!redis_nodes_.empty()) {
        out << "# HELP verifyd_redis_node_command_duration_seconds On a Redis Cluster, by "
               "primary: an API command's time from its first send to its answer (on the "
               "primary that served its slot when it was sent), and a background thread's "
               "command's or pipelined batch's time from its write to its last reply.\n"
            << "# TYPE verifyd_redis_node_command_duration_seconds histogram\n";
        for (const auto& [node, stats] : redis_nodes_)
            stats->timings.render(out, "verifyd_redis_node_command_duration_seconds",
                                  "node=\"" + node + "\"");
        out << "# HELP verifyd_redis_node_errors_total On a Redis Cluster, by primary: API "
               "commands that failed (503), and the background threads' failed connections "
               "and timeouts (an error reply is the command's answer, not a failure).\n"
            << "# TYPE verifyd_redis_node_errors_total counter\n";
        for (const auto& [node, stats] : redis_nodes_)
            out << "verifyd_redis_node_errors_total{node=\"" << node << "\"} "
                << stats->errors.load(std::memory_order_relaxed) << "\n";
    }
    out << "# HELP verifyd_receipts_total Delivery receipts by provider and what they did.\n"
        << "# TYPE verifyd_receipts_total counter\n";
    for (const auto& [key, count] : receipts_)
        out << "verifyd_receipts_total{provider=\"" << key.first << "\",outcome=\"" << key.second
            << "\"} " << count << "\n";
    out << "# HELP verifyd_events_total Verification events queued, sent, and POSTs that "
           "failed (to be retried).\n"
        << "# TYPE verifyd_events_total counter\n";
    for (const auto& [outcome, count] : events_)
        out << "verifyd_events_total{outcome=\"" << outcome << "\"} " << count << "\n";
    out << "# HELP verifyd_events_pending Verification events not yet delivered.\n"
        << "# TYPE verifyd_events_pending gauge\n"
        << "verifyd_events_pending " << events_pending_ << "\n";

    out << "# HELP verifyd_redis_errors_total Failed Redis calls and connection attempts.\n"
        << "# TYPE verifyd_redis_errors_total counter\n"
        << "verifyd_redis_errors_total " << redis_errors_.load(std::memory_order_relaxed) << "\n";
    out << "# HELP verifyd_redis_redirects_total Commands (the API's and the background "
           "threads') a Redis Cluster sent elsewhere (moved, ask) or asked to retry (tryagain, "
           "clusterdown).\n"
        << "# TYPE verifyd_redis_redirects_total counter\n";
    const char* redirect_kinds[] = {"moved", "ask", "tryagain", "clusterdown"};
    for (size_t kind = 0; kind < redis_redirects_.size(); ++kind)
        out << "verifyd_redis_redirects_total{kind=\"" << redirect_kinds[kind] << "\"} "
            << redis_redirects_[kind].load(std::memory_order_relaxed) << "\n";
    out << "# HELP verifyd_log_lines_dropped_total Log lines dropped because stderr fell "
           "behind.\n"
        << "# TYPE verifyd_log_lines_dropped_total counter\n"
        << "verifyd_log_lines_dropped_total " << log_lines_dropped() << "\n";
    out << "# HELP verifyd_http_connections Open connections to the API listener.\n"
        << "# TYPE verifyd_http_connections gauge\n"
        << "verifyd_http_connections " << open_connections_.load(std::memory_order_relaxed) << "\n"
        << "# HELP verifyd_http_connections_refused_total Connections closed at accept: "
           "VERIFYD_MAX_CONNECTIONS were open.\n"
        << "# TYPE verifyd_http_connections_refused_total counter\n"
        << "verifyd_http_connections_refused_total "
        << refused_connections_.load(std::memory_order_relaxed) << "\n";
    return out.str();
}

}  // namespace verifyd
