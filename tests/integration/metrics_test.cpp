// GET /metrics (§4): the Prometheus text with request counts by route and status, error
// counts by code, latency histograms and Redis errors.
#include <catch2/catch.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "support/api_checks.hpp"
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
