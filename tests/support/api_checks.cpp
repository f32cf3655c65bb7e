// The contract's envelope and catalog assertions, shared by the integration tests.
#include "support/api_checks.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

namespace verifyd_test {

namespace {

void require_meta(const HttpResponse& response, const nlohmann::json& body) {
    REQUIRE(body.contains("meta"));
    const nlohmann::json& meta = body["meta"];
    REQUIRE(meta.is_object());
    REQUIRE(meta.contains("request_id"));
    REQUIRE(meta["request_id"].is_string());
    auto header = response.header("X-Request-Id");
    REQUIRE(header.has_value());
    CHECK(meta["request_id"] == *header);
    REQUIRE(meta.contains("timestamp"));
    REQUIRE(meta["timestamp"].is_string());
    CHECK(is_rfc3339_utc(meta["timestamp"].get<std::string>()));
    CHECK(meta.value("version", "") == "v1");
}

void require_json_content_type(const HttpResponse& response) {
    auto content_type = response.header("Content-Type");
    REQUIRE(content_type.has_value());
    CHECK(content_type->rfind("application/json", 0) == 0);
}

}  // namespace

std::string catalog_type(int code) {
    static const std::map<int, std::string> types = {
        {4000, "invalid_request"},      {4001, "invalid_phone"},
        {4009, "idempotency_conflict"}, {4010, "missing_api_key"},
        {4011, "invalid_api_key"},      {4012, "revoked_api_key"},
        {4013, "expired_api_key"},      {4029, "rate_limit_exceeded"},
        {4030, "insufficient_scope"},   {4031, "destination_blocked"},
        {4032, "destination_paused"},   {4040, "verification_not_found"},
        {4041, "verification_expired"}, {4042, "max_attempts_exceeded"},
        {4043, "otp_rate_limit"},       {4044, "message_not_found"},
        {4045, "client_rate_limit"},    {5000, "internal_error"},
        {5001, "provider_error"},
    };
    auto found = types.find(code);
    return found == types.end() ? std::string() : found->second;
}

nlohmann::json require_error(const HttpResponse& response, int http_status, int code) {
    INFO("response: " << response.status << " " << response.body);
    CHECK(response.status == http_status);
    require_json_content_type(response);
    nlohmann::json body = response.json();
    REQUIRE(body.is_object());
    CHECK(body.value("success", true) == false);
    REQUIRE(body.contains("error"));
    const nlohmann::json& error = body["error"];
    REQUIRE(error.is_object());
    REQUIRE(error.contains("code"));
    CHECK(error["code"].is_number_integer());
    CHECK(error["code"] == code);
    CHECK(error.value("type", "") == catalog_type(code));
    REQUIRE(error.contains("message"));
    REQUIRE(error["message"].is_string());
    CHECK_FALSE(error["message"].get<std::string>().empty());
    require_meta(response, body);
    REQUIRE(error.contains("request_id"));
    CHECK(error["request_id"] == body["meta"]["request_id"]);

    if (code == 4029 || code == 4043 || http_status == 503) {
        REQUIRE(error.contains("retry_after"));
        REQUIRE(error["retry_after"].is_number_integer());
        CHECK(error["retry_after"].get<int>() >= 1);
        auto header = response.header("Retry-After");
        REQUIRE(header.has_value());
        CHECK(*header == std::to_string(error["retry_after"].get<int>()));
    }
    if (error.contains("details")) {
        REQUIRE(error["details"].is_object());
        for (const auto& [field, problems] : error["details"].items()) {
            INFO("details." << field);
            CHECK(problems.is_array());
        }
    }
    return error;
}

nlohmann::json require_success(const HttpResponse& response, int http_status) {
    INFO("response: " << response.status << " " << response.body);
    REQUIRE(response.status == http_status);
    require_json_content_type(response);
    nlohmann::json body = response.json();
    REQUIRE(body.is_object());
    CHECK(body.value("success", false) == true);
    CHECK_FALSE(body.contains("error"));
    require_meta(response, body);
    REQUIRE(body.contains("data"));
    REQUIRE(body["data"].is_object());
    return body["data"];
}

std::string require_detail(const nlohmann::json& error, const std::string& field) {
    INFO("error: " << error.dump() << ", expected a problem with field " << field);
    REQUIRE(error.contains("details"));
    REQUIRE(error["details"].is_object());
    REQUIRE(error["details"].contains(field));
    const nlohmann::json& problems = error["details"][field];
    REQUIRE(problems.is_array());
    REQUIRE_FALSE(problems.empty());
    std::string joined;
    for (const auto& problem : problems) {
        REQUIRE(problem.is_string());
        joined += problem.get<std::string>() + "\n";
    }
    return joined;
}

bool is_rfc3339_utc(const std::string& text) {
    static const std::regex pattern(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z)");
    return std::regex_match(text, pattern) && parse_rfc3339_utc(text).has_value();
}

std::optional<int64_t> parse_rfc3339_utc(const std::string& text) {
    std::tm tm{};
    int consumed = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
        consumed != 19) {
        return std::nullopt;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm));
}

bool is_generated_request_id(const std::string& id) {
    static const std::regex pattern("req_[A-Za-z0-9_-]+");
    return std::regex_match(id, pattern);
}

std::optional<double> metric_value(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
    static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( [0-9]+)?$)");
    static const std::regex label(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
    std::optional<double> total;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch match;
        if (line.empty() || line[0] == '#' || !std::regex_match(line, match, sample) ||
            match[1] != name) {
            continue;
        }
        std::map<std::string, std::string> found;
        const std::string label_text = match[3];
        for (std::sregex_iterator it(label_text.begin(), label_text.end(), label), end; it != end;
             ++it) {
            found[(*it)[1]] = (*it)[2];
        }
        bool matches = true;
        for (const auto& [key, value] : labels) {
            auto present = found.find(key);
            matches = matches && present != found.end() && present->second == value;
        }
        if (!matches) {
            continue;
        }
        try {
            total = total.value_or(0) + std::stod(match[4]);
        } catch (const std::exception&) {
            continue;
        }
    }
    return total;
}

nlohmann::json json_at(const nlohmann::json& value, const std::string& pointer) {
    const nlohmann::json::json_pointer path(pointer);
    return value.is_object() && value.contains(path) ? value[path] : nlohmann::json();
}

bool contains_key(const nlohmann::json& value, const std::string& name) {
    if (value.is_object() && value.contains(name)) {
        return true;
    }
    if (value.is_structured()) {
        for (const auto& element : value) {
            if (contains_key(element, name)) {
                return true;
            }
        }
    }
    return false;
}

std::string wrong_code(const std::string& code) {
    std::string wrong = code;
    wrong[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
    return wrong;
}

std::string us_number(int n) {
    char digits[8];
    std::snprintf(digits, sizeof digits, "%04d", ((n % 10000) + 10000) % 10000);
    return std::string("+1415555") + digits;
}

std::string send_request_bytes(const std::string& key, const std::string& to) {
    const std::string body = nlohmann::json{{"to", to}}.dump();
    return "POST /verify/send HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

void avoid_window_edge(int window_seconds, double margin_seconds) {
    using namespace std::chrono;
    const double now =
        duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
    const double into = std::fmod(now, window_seconds);
    const double left = window_seconds - into;
    if (left < margin_seconds) {
        std::this_thread::sleep_for(duration<double>(left + 0.1));
    }
}

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

bool is_sandbox_delivery(const std::string& status) {
    return status == "queued" || status == "sent" || status == "delivered";
}

}  // namespace verifyd_test
