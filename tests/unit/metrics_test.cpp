// The Prometheus text of metrics.hpp for its newest labels and families: the Redis
// command round trip (a histogram kept lock-free, cumulated when rendered), delivery
// failures by reason, and verifications by country and channel.
#include "verifyd/metrics.hpp"

#include <catch2/catch.hpp>

using namespace verifyd;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("Redis round trips land in cumulative buckets, with their count and sum") {
    Metrics metrics;
    metrics.observe_redis_command(0.00005);
    metrics.observe_redis_command(0.0003);
    metrics.observe_redis_command(0.0003);
    metrics.observe_redis_command(2.0);
    const std::string text = metrics.render();
    INFO(text);
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_bucket{le=\"0.0001\"} 1"));
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_bucket{le=\"0.00025\"} 1"));
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_bucket{le=\"0.0005\"} 3"));
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_bucket{le=\"0.25\"} 3"));
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_bucket{le=\"+Inf\"} 4"));
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_count 4"));
    CHECK(has_line(text, "verifyd_redis_command_duration_seconds_sum 2.00065"));
}

TEST_CASE("delivery failures are counted by provider, channel, outcome and reason") {
    Metrics metrics;
    metrics.count_delivery_failure("sent", "sms", "failed", "refused");
    metrics.count_delivery_failure("sent", "sms", "failed", "refused");
    metrics.count_delivery_failure("sent", "whatsapp", "dropped", "");
    metrics.count_applied_receipt("sent", "fallback", "whatsapp", 0, "recipient_not_capable");
    const std::string text = metrics.render();
    INFO(text);
    CHECK(has_line(text,
                   "verifyd_delivery_failures_total{provider=\"sent\",channel=\"sms\",outcome="
                   "\"failed\",reason=\"refused\"} 2"));
    CHECK(has_line(text,
                   "verifyd_delivery_failures_total{provider=\"sent\",channel=\"whatsapp\","
                   "outcome=\"dropped\",reason=\"unknown\"} 1"));
    CHECK(has_line(text,
                   "verifyd_delivery_failures_total{provider=\"sent\",channel=\"whatsapp\","
                   "outcome=\"fallback\",reason=\"recipient_not_capable\"} 1"));
}

TEST_CASE("verifications are counted by event, country and the channel the send asked for") {
    Metrics metrics;
    metrics.count_verification("sent", "US", "whatsapp");
    metrics.count_verification("approved", "US", "whatsapp");
    metrics.count_verification("approved", "", "");
    const std::string text = metrics.render();
    INFO(text);
    CHECK(has_line(text,
                   "verifyd_verifications_total{event=\"sent\",country=\"US\",channel="
                   "\"whatsapp\"} 1"));
    CHECK(has_line(text,
                   "verifyd_verifications_total{event=\"approved\",country=\"US\","
                   "channel=\"whatsapp\"} 1"));
    CHECK(has_line(text,
                   "verifyd_verifications_total{event=\"approved\",country=\"unknown\","
                   "channel=\"unknown\"} 1"));
}
