// GET /metrics (§4): the Prometheus text with request counts by route and status, error
// counts by code, latency histograms and Redis errors; and the delivery counters and
// gauges (verifyd_deliveries_total, verifyd_delivery_retries_total, queue depth and age).
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

// The value of the first sample line matching `pattern` (the whole line up to the value).
std::optional<double> sample(const std::string& text, const std::string& pattern) {
    std::regex line("^" + pattern + R"( ([0-9.eE+-]+)$)");
    std::istringstream lines(text);
    std::string current;
    while (std::getline(lines, current)) {
        std::smatch match;
        if (std::regex_match(current, match, line)) {
            return std::stod(match[1]);
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("metrics count requests by route and status, errors by code, latency and Redis") {
    VerifydInstance v;
    v.send_ok(v.key(kTestA), us_number(11001));
    require_error(v.get_verification(v.key(kTestA), "vrf_nope"), 404, 4040);
    require_error(v.get_verification(v.key(kTestA), "vrf_nope"), 404, 4040);

    HttpResponse response = v.get("/metrics");
    REQUIRE(response.status == 200);
    auto content_type = response.header("Content-Type");
    REQUIRE(content_type.has_value());
    CHECK(content_type->rfind("text/plain", 0) == 0);
    const std::string& text = response.body;
    INFO(text);

    const std::string labels = R"(\{[^}]*\})";
    CHECK(sample(text, R"(verifyd_http_requests_total\{[^}]*status="201"[^}]*\})").value_or(0) >=
          1);
    CHECK(sample(text, R"(verifyd_http_requests_total\{[^}]*route="[^"]+"[^}]*\})").has_value());
    CHECK(sample(text, R"(verifyd_errors_total\{[^}]*code="4040"[^}]*\})").value_or(0) >= 2);
    CHECK(sample(text, R"(verifyd_http_request_duration_seconds_bucket\{[^}]*le="[^"]+"[^}]*\})")
              .has_value());
    CHECK(sample(text, R"(verifyd_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\})")
              .has_value());
    CHECK((sample(text, "verifyd_redis_errors_total").has_value() ||
           sample(text, "verifyd_redis_errors_total" + labels).has_value()));
}

namespace {

// Polls /metrics (bounded, 5 s) until `ready` holds; returns the last text.
std::string metrics_when(VerifydInstance& v, const std::function<bool(const std::string&)>& ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string text;
    do {
        text = v.get("/metrics").body;
        if (ready(text)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return text;
}

}  // namespace

TEST_CASE("the queue gauges show jobs waiting while the provider holds a call") {
    FakeProvider fake;
    // One delivery thread, busy with a call that the provider holds for the whole test.
    VerifydInstance v(merged(sent_provider(fake, "sent_key_" + random_hex(16)),
                             {{"VERIFYD_DELIVERY_WORKERS", "1"},
                              {"VERIFYD_DELIVERY_TIMEOUT_MS", "10000"},
                              {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "20000"}}));
    fake.set_default(Reply::held(Reply::ok()));
    for (int i = 0; i < 3; ++i) {
        v.send_ok(v.key(kLiveA), us_number(11101 + i));
    }
    require_done(fake.wait_for_held(1, std::chrono::seconds(5)), v,
                 "the provider to hold a request");
    std::string text = metrics_when(v, [](const std::string& t) {
        return metric_value(t, "verifyd_delivery_queue_depth").value_or(0) == 3 &&
               metric_value(t, "verifyd_delivery_oldest_job_age_seconds").value_or(0) >= 1;
    });
    {
        INFO(text);
        CHECK(metric_value(text, "verifyd_delivery_queue_depth") == 3);
        CHECK(metric_value(text, "verifyd_delivery_oldest_job_age_seconds").value_or(0) >= 1);
    }
    fake.set_default(Reply::ok());
    fake.release();
    require_done(fake.wait_for_executed_keys(3, std::chrono::seconds(5)), v,
                 "every message to be delivered");
    text = metrics_when(v, [](const std::string& t) {
        return metric_value(t, "verifyd_delivery_queue_depth").value_or(-1) == 0;
    });
    INFO(text);
    CHECK(metric_value(text, "verifyd_delivery_queue_depth") == 0);
    CHECK(metric_value(text, "verifyd_delivery_oldest_job_age_seconds") == 0);
}

TEST_CASE("delivery metrics count sent, failed and dropped deliveries and retries by channel") {
    FakeProvider fake;
    VerifydInstance v(merged(sent_provider(fake, "sent_key_" + random_hex(16)),
                             {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "60"}}));
    const std::map<std::string, std::string> sms = {{"provider", "sent"}, {"channel", "sms"}};
    auto outcome = [&](const std::string& text, const std::string& name) {
        auto labels = sms;
        labels["outcome"] = name;
        return metric_value(text, "verifyd_deliveries_total", labels).value_or(0);
    };

    // Sent at once, and sent after two retries.
    json first = v.send_ok(v.key(kLiveA), us_number(11110));
    require_done(fake.wait_for_executions(first["message_id"], 1, std::chrono::seconds(5)), v,
                 "the message to be delivered");
    fake.queue(Reply::server_error(500), 2);
    json retried = v.send_ok(v.key(kLiveA), us_number(11111));
    require_done(fake.wait_for_executions(retried["message_id"], 1, std::chrono::seconds(5)), v,
                 "the message to be delivered");
    // Refused.
    fake.set_default(Reply::sent_error(400, "VALIDATION_002", "refused"));
    json refused = v.send_ok(v.key(kLiveA), us_number(11112));
    CHECK(v.wait_for_delivery(v.key(kLiveA), refused["id"], "failed").value("status", "") ==
          "failed");
    // Dropped: canceled while the provider fails.
    fake.set_default(Reply::server_error(500));
    json canceled = v.send_ok(v.key(kLiveA), us_number(11113));
    const std::string canceled_message = canceled["message_id"];
    REQUIRE(fake.wait_for(
        [&](const std::vector<RecordedRequest>& requests) {
            return std::any_of(requests.begin(), requests.end(), [&](const auto& request) {
                return request.idempotency_key() == canceled_message;
            });
        },
        std::chrono::seconds(5)));
    require_success(v.cancel(v.key(kLiveA), canceled["id"]));
    // The provider fails until the job is dropped, so that a call that passed its check
    // just before the cancel cannot deliver it.
    CHECK(v.wait_for_delivery(v.key(kLiveA), canceled["id"], "failed").value("status", "") ==
          "failed");
    fake.set_default(Reply::ok());

    const std::string text = metrics_when(v, [&](const std::string& t) {
        return metric_value(t, "verifyd_deliveries_total", {{"outcome", "dropped"}}) >= 1;
    });
    INFO(text);
    CHECK(outcome(text, "sent") == 2);
    CHECK(outcome(text, "failed") == 1);
    CHECK(metric_value(text, "verifyd_deliveries_total",
                       {{"provider", "sent"}, {"outcome", "dropped"}}) == 1);
    // A dropped job is counted under the channel it was queued for.
    CHECK(outcome(text, "dropped") == 1);
    CHECK(metric_value(text, "verifyd_delivery_retries_total", sms).value_or(0) >= 2);
    // Each failure says why, in a word: the refusal, and the drop's reason.
    CHECK(metric_value(text, "verifyd_delivery_failures_total",
                       {{"provider", "sent"},
                        {"channel", "sms"},
                        {"outcome", "failed"},
                        {"reason", "refused"}}) == 1);
    CHECK(metric_value(text, "verifyd_delivery_failures_total",
                       {{"provider", "sent"}, {"outcome", "dropped"}}) == 1);
    CHECK(metric_value(text, "verifyd_delivery_failures_total",
                       {{"provider", "sent"}, {"outcome", "dropped"}, {"reason", "unknown"}}) ==
          std::nullopt);
}

TEST_CASE("the Redis command round trip is a histogram of every answer on the API's lanes") {
    VerifydInstance v;
    auto count_of = [&](const std::string& text) {
        return metric_value(text, "verifyd_redis_command_duration_seconds_count").value_or(-1);
    };
    const double before = count_of(v.get("/metrics").body);
    for (int i = 0; i < 5; ++i) v.send_ok(v.key(kTestA), us_number(11201 + i));
    const std::string text = v.get("/metrics").body;
    INFO(text);
    // Each send is at least one command on a lane (the guard's, the send's, the inbox's).
    CHECK(count_of(text) >= before + 5);
    CHECK(metric_value(text, "verifyd_redis_command_duration_seconds_bucket", {{"le", "+Inf"}}) ==
          count_of(text));
    CHECK(metric_value(text, "verifyd_redis_command_duration_seconds_sum").value_or(-1) > 0);
}
