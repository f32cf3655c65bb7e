// The chart's Grafana dashboard (helm/verifyd/files/dashboard.json) and alerting rules
// (files/alerts.yaml) against a real verifyd's /metrics: every metric their PromQL names
// is one verifyd exposes, and every label they select or group by is one it carries.
// Not for: the chart's objects (tests/chart/cases.mjs) or the metrics' values
// (metrics_test.cpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/api_checks.hpp"
#include "support/temp_dir.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

std::string read_chart_file(const std::string& path) {
    std::ifstream in(std::string(VERIFYD_CHART_DIR) + "/" + path);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The PromQL of the dashboard: every panel's queries and the template variables' queries.
std::vector<std::string> dashboard_expressions() {
    const json dashboard = json::parse(read_chart_file("files/dashboard.json"));
    std::vector<std::string> expressions;
    size_t panels = 0;
    for (const json& panel : dashboard.at("panels")) {
        if (panel.at("type") == "row") continue;
        ++panels;
        // A panel without a query would show nothing, and be checked for nothing.
        REQUIRE_FALSE(panel.at("targets").empty());
        for (const json& target : panel.at("targets"))
            expressions.push_back(target.at("expr").get<std::string>());
    }
    for (const json& variable : dashboard.at("templating").at("list"))
        if (variable.at("type") == "query")
            expressions.push_back(variable.at("query").at("query").get<std::string>());
    REQUIRE(panels > 0);
    return expressions;
}

// The expr of every rule in the alerts file: a one-line value, or a block scalar (`|`)
// whose lines are indented deeper than its key. The file is the chart's own, in that
// layout; that each rule's expr was found is checked against the count of alerts.
std::vector<std::string> alert_expressions() {
    static const std::regex key(R"(^( *)expr: *(.*)$)");
    static const std::regex alert(R"(^ *- alert: )");
    std::istringstream lines(read_chart_file("files/alerts.yaml"));
    std::vector<std::string> expressions;
    std::string line, block;
    size_t block_indent = 0, alerts = 0;
    bool in_block = false;
    while (std::getline(lines, line)) {
        if (in_block) {
            const size_t indent = line.find_first_not_of(' ');
            if (indent == std::string::npos || indent > block_indent) {
                block += line + "\n";
                continue;
            }
            expressions.push_back(block);
            in_block = false;
        }
        if (std::regex_search(line, alert)) ++alerts;
        std::smatch match;
        if (!std::regex_match(line, match, key)) continue;
        if (match[2] == "|" || match[2] == "|-" || match[2] == ">" || match[2] == ">-") {
            in_block = true;
            block_indent = match[1].length();
            block.clear();
        } else {
            expressions.push_back(match[2]);
        }
    }
    if (in_block) expressions.push_back(block);
    REQUIRE(alerts > 0);
    REQUIRE(expressions.size() == alerts);
    return expressions;
}

// What a scrape of /metrics declares and shows.
struct Exposition {
    // The names a query can select: a counter's or gauge's family name, a histogram's
    // _bucket, _sum and _count (its family name alone selects nothing).
    std::set<std::string> names;
    // The label names of each selectable name's samples; a name without samples yet is
    // absent.
    std::map<std::string, std::set<std::string>> labels;
};

Exposition parse_exposition(const std::string& text) {
    static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ([a-z]+)$)");
    static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? \S+$)");
    static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")");
    Exposition exposition;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch match;
        if (std::regex_match(line, match, type)) {
            if (match[2] == "histogram") {
                for (const char* suffix : {"_bucket", "_sum", "_count"})
                    exposition.names.insert(match[1].str() + suffix);
            } else {
                exposition.names.insert(match[1]);
            }
        } else if (std::regex_match(line, match, sample)) {
            std::set<std::string>& names = exposition.labels[match[1]];
            const std::string labels = match[3];
            for (std::sregex_iterator it(labels.begin(), labels.end(), label), end; it != end; ++it)
                names.insert((*it)[1]);
        }
    }
    return exposition;
}

std::set<std::string> metric_names(const std::string& expression) {
    static const std::regex name("verifyd_[a-z0-9_]+");
    std::set<std::string> names;
    for (std::sregex_iterator it(expression.begin(), expression.end(), name), end; it != end; ++it)
        names.insert(it->str());
    return names;
}

// Labels Prometheus adds to every series it scrapes (the Prometheus Operator's
// ServiceMonitor: namespace, service, pod, container, endpoint), not verifyd.
const std::set<std::string> kTargetLabels = {"job", "instance",  "namespace", "service",
                                             "pod", "container", "endpoint"};

// A verifyd with traffic behind every labelled family the check can drive cheaply: API
// requests and an error, sandbox sends (one approved), a live send through the `log`
// provider, a send the policy refuses, a prefix the fraud guard pauses for too many
// pending sends, and the same in another account where the guard only monitors.
std::string scrape_after_traffic() {
    TempDir dir;
    const std::string policy = dir.path() + "/policy.json";
    write_file(policy, R"({"default": {"countries": {"block": ["FR"]}},
                            "accounts": {"acct_b": {"fraud_guard": "monitor"}}})");
    VerifydInstance v(Settings{{"VERIFYD_POLICY_FILE", policy},
                               {"VERIFYD_FRAUD_MAX_PENDING", "1"},
                               {"VERIFYD_FRAUD_SETTLE_SECONDS", "30"},
                               {"VERIFYD_SEND_LIMITS", "1000/60"},
                               {"VERIFYD_RESEND_COOLDOWN", "0"}});
    const json approved = v.send_ok(v.key(kTestA), "+14152010000");
    require_success(
        v.check(v.key(kTestA), approved["id"], v.sandbox_code(v.key(kTestA), approved["id"])));
    v.send_ok(v.key(kTestA), "+14152020000");
    require_error(v.send(v.key(kTestA), {{"to", "+14152020001"}}), 403, 4032);
    require_error(v.send(v.key(kTestA), {{"to", "+33612345678"}}), 403, 4031);
    require_error(v.get_verification(v.key(kTestA), "vrf_nope"), 404, 4040);
    v.send_ok(v.key(kTestB), "+14152030000");
    v.send_ok(v.key(kTestB), "+14152030001");
    v.send_ok(v.key(kLiveA), "+14152040000");
    REQUIRE(v.get("/readyz").status == 200);
    std::string text;
    REQUIRE(wait_until(
        [&] {
            text = v.get("/metrics").body;
            return metric_value(text, "verifyd_deliveries_total").has_value();
        },
        std::chrono::seconds(5)));
    return text;
}

// Families the traffic above must have given samples, so that their labels are checked.
const std::set<std::string> kDrivenFamilies = {"verifyd_http_requests_total",
                                               "verifyd_http_request_duration_seconds_bucket",
                                               "verifyd_errors_total",
                                               "verifyd_sends_total",
                                               "verifyd_verifications_total",
                                               "verifyd_deliveries_total",
                                               "verifyd_send_refusals_total",
                                               "verifyd_fraud_pauses_total",
                                               "verifyd_fraud_monitored_sends_total"};

void require_names_exposed(const std::vector<std::string>& expressions,
                           const Exposition& exposition) {
    size_t named = 0;
    for (const std::string& expression : expressions) {
        INFO(expression);
        const std::set<std::string> names = metric_names(expression);
        CHECK_FALSE(names.empty());
        for (const std::string& name : names) {
            INFO(name);
            CHECK(exposition.names.count(name) == 1);
            ++named;
        }
    }
    REQUIRE(named > 0);
}

void require_labels_carried(const std::vector<std::string>& expressions,
                            const Exposition& exposition) {
    static const std::regex selector(R"((verifyd_[a-z0-9_]+)\s*\{([^}]*)\})");
    static const std::regex matcher(R"(([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=))");
    static const std::regex grouping(R"(\b(by|without|on|ignoring)\s*\(([^)]*)\))");
    static const std::regex label_name("[a-zA-Z_][a-zA-Z0-9_]*");
    // A family without samples (receipts and delivery latency need a provider's receipts,
    // events a receiver) shows no labels to compare with; kDrivenFamilies bounds how
    // much that leaves out.
    auto carried = [&](const std::string& metric, const std::string& label) {
        auto labels = exposition.labels.find(metric);
        return kTargetLabels.count(label) == 1 || labels == exposition.labels.end() ||
               labels->second.count(label) == 1;
    };
    for (const std::string& expression : expressions) {
        INFO(expression);
        for (std::sregex_iterator it(expression.begin(), expression.end(), selector), end;
             it != end; ++it) {
            const std::string metric = (*it)[1], matchers = (*it)[2];
            for (std::sregex_iterator m(matchers.begin(), matchers.end(), matcher); m != end; ++m) {
                INFO(metric << " selects " << (*m)[1]);
                CHECK(carried(metric, (*m)[1]));
            }
        }
        // A grouping label must be on every metric of the expression: a division or a
        // set operation on a label one side lacks matches nothing.
        for (std::sregex_iterator it(expression.begin(), expression.end(), grouping), end;
             it != end; ++it) {
            const std::string labels = (*it)[2];
            for (std::sregex_iterator l(labels.begin(), labels.end(), label_name); l != end; ++l)
                for (const std::string& metric : metric_names(expression)) {
                    INFO(metric << " grouped by " << l->str());
                    CHECK(carried(metric, l->str()));
                }
        }
    }
}

}  // namespace

TEST_CASE("every metric the Grafana dashboard queries is one that /metrics exposes") {
    const Exposition exposition = parse_exposition(scrape_after_traffic());
    require_names_exposed(dashboard_expressions(), exposition);
}

TEST_CASE("every metric the alerting rules query is one that /metrics exposes") {
    const Exposition exposition = parse_exposition(scrape_after_traffic());
    require_names_exposed(alert_expressions(), exposition);
}

TEST_CASE(
    "every label the dashboard and the alerting rules select or group by is one their "
    "metrics carry") {
    const Exposition exposition = parse_exposition(scrape_after_traffic());
    for (const std::string& family : kDrivenFamilies) {
        INFO(family << " has samples to read its labels from");
        REQUIRE(exposition.labels.count(family) == 1);
    }
    require_labels_carried(dashboard_expressions(), exposition);
    require_labels_carried(alert_expressions(), exposition);
}
