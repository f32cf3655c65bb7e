// Structured logs (README "Logs"): stderr carries one JSON object per line; each API
// request logs one "request" line with time (RFC 3339, milliseconds, Z), level,
// request_id (the response's X-Request-Id), method, route pattern, status, latency_ms,
// account and key_id once authenticated, error_code on errors; VERIFYD_LOG_LEVEL=warn
// leaves request lines out and an unknown level stops start-up with exit status 2. No
// line carries an API key, the hash key or a sandbox code, and neither request nor
// delivery lines carry a live code or an unmasked phone number (the `log` provider's
// own line prints the message by design and is left out of that check).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <regex>
#include <sstream>
#include <thread>

#include "support/api_checks.hpp"
#include "support/free_port.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct LogLines {
    std::vector<json> objects;       // the lines that are JSON objects, in order
    std::vector<std::string> other;  // every other non-empty line
};

LogLines parse_log(const std::string& text) {
    LogLines parsed;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) {
            continue;
        }
        json object = json::parse(line, nullptr, false);
        if (object.is_object()) {
            parsed.objects.push_back(std::move(object));
        } else {
            parsed.other.push_back(line);
        }
    }
    return parsed;
}

// The raw text of the lines whose msg is one of `messages`.
std::vector<std::string> raw_lines_with_msg(const std::string& text,
                                            const std::vector<std::string>& messages) {
    std::vector<std::string> found;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        json object = json::parse(line, nullptr, false);
        if (!object.is_object()) {
            continue;
        }
        const std::string msg = object.value("msg", "");
        if (std::find(messages.begin(), messages.end(), msg) != messages.end()) {
            found.push_back(line);
        }
    }
    return found;
}

// The "request" lines carrying `request_id`, waiting (bounded) for at least one.
std::vector<json> request_lines(VerifydInstance& v, const std::string& request_id) {
    const auto deadline = Clock::now() + seconds(2);
    for (;;) {
        std::vector<json> found;
        for (const auto& line : parse_log(v.log()).objects) {
            if (line.value("msg", "") == "request" && line.value("request_id", "") == request_id) {
                found.push_back(line);
            }
        }
        if (!found.empty() || Clock::now() >= deadline) {
            return found;
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
}

struct Expected {
    std::string method;
    std::string route;  // a regular expression: the contract does not name every placeholder
    bool authenticated = true;
    int error_code = 0;  // 0: none
};

// The one request line of `response` says what the request was and how it ended.
void require_request_line(VerifydInstance& v, const HttpResponse& response,
                          const Expected& expected) {
    static const std::regex millisecond_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
    const auto request_id = response.header("X-Request-Id");
    REQUIRE(request_id.has_value());
    const std::vector<json> lines = request_lines(v, *request_id);
    INFO(expected.method << " " << expected.route << " answered " << response.status << "; log:\n"
                         << v.log());
    REQUIRE(lines.size() == 1);
    const json& line = lines.front();
    INFO("line: " << line.dump());

    REQUIRE(line.contains("time"));
    REQUIRE(line["time"].is_string());
    const std::string time = line["time"];
    CHECK(std::regex_match(time, millisecond_time));
    const auto seconds_since_epoch = parse_rfc3339_utc(time);
    REQUIRE(seconds_since_epoch.has_value());
    CHECK(std::abs(*seconds_since_epoch - static_cast<int64_t>(std::time(nullptr))) < 60);
    CHECK(line.value("level", "") == "info");
    CHECK(line.value("method", "") == expected.method);
    CHECK(std::regex_match(line.value("route", ""), std::regex(expected.route)));
    REQUIRE(line.contains("status"));
    CHECK(line["status"].is_number_integer());
    CHECK(line["status"] == response.status);
    REQUIRE(line.contains("latency_ms"));
    REQUIRE(line["latency_ms"].is_number());
    CHECK(line["latency_ms"].get<double>() >= 0);
    CHECK(line["latency_ms"].get<double>() < 10000);
    if (expected.authenticated) {
        CHECK(line.value("account", "") == kAccountA);
        CHECK(line.value("key_id", "") == std::string("key_") + kTestA);
    } else {
        CHECK_FALSE(line.contains("account"));
        CHECK_FALSE(line.contains("key_id"));
    }
    if (expected.error_code != 0) {
        REQUIRE(line.contains("error_code"));
        CHECK(line["error_code"] == expected.error_code);
    } else {
        CHECK_FALSE(line.contains("error_code"));
    }
}

// Where `secret` occurs in the log's lines, for the failure message; empty when nowhere.
std::string occurrences(const std::vector<std::string>& lines, const std::string& secret) {
    std::string found;
    for (const auto& line : lines) {
        if (line.find(secret) != std::string::npos) {
            found += line + "\n";
        }
    }
    return found;
}

std::vector<std::string> all_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }
    return lines;
}

std::string uppercase(std::string text) {
    for (auto& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

}  // namespace

TEST_CASE(
    "each API request logs one JSON line with its request id, route, status, latency "
    "and caller") {
    VerifydInstance v;
    const std::string& key = v.key(kTestA);

    HttpResponse sent =
        v.post("/verify/send", key, {{"to", us_number(8401)}}, {{"X-Request-Id", "it-log-send.1"}});
    const std::string id = require_success(sent, 201)["id"];
    require_request_line(v, sent, {"POST", "/verify/send"});

    HttpResponse read = v.get("/verify/" + id, key, {{"X-Request-Id", "it-log-read.1"}});
    require_success(read);
    require_request_line(v, read, {"GET", R"(/verify/\{id\})"});

    HttpResponse message =
        v.get("/messages/" + require_success(read)["message_id"].get<std::string>(), key);
    require_success(message);
    require_request_line(v, message, {"GET", R"(/messages/\{(id|message_id)\})"});

    HttpResponse invalid = v.post("/verify/check", key, {{"id", id}, {"code", "12"}},
                                  {{"X-Request-Id", "it-log-check.1"}});
    require_error(invalid, 400, 4000);
    require_request_line(v, invalid, {"POST", "/verify/check", true, 4000});

    HttpResponse missing = v.get("/verify/vrf_doesnotexist0000000000", key);
    require_error(missing, 404, 4040);
    require_request_line(v, missing, {"GET", R"(/verify/\{id\})", true, 4040});

    HttpResponse anonymous = v.get("/verify/" + id);
    require_error(anonymous, 401, 4010);
    CHECK(is_generated_request_id(anonymous.header("X-Request-Id").value_or("")));
    require_request_line(v, anonymous, {"GET", R"(/verify/\{id\})", false, 4010});

    HttpResponse approved = v.check(key, id, v.sandbox_code(key, id));
    require_success(approved);
    require_request_line(v, approved, {"POST", "/verify/check"});
}

TEST_CASE("every log line on stderr is one JSON object with time, level and msg") {
    VerifydInstance v;
    // Request lines and the log provider's delivery lines come from different threads at
    // the same time: none may interleave with another.
    const std::string& live = v.key(kLiveA);
    std::vector<std::thread> clients;
    std::vector<std::string> failures(2);
    for (int t = 0; t < 2; ++t) {
        clients.emplace_back([&, t] {
            try {
                HttpClient client = v.client(seconds(5));
                for (int i = 0; i < 25; ++i) {
                    const std::string to = us_number(8700 + t * 100 + i);
                    post_json(client, "/verify/send", live, {{"to", to}});
                    client.get("/healthz");
                }
            } catch (const std::exception& e) {
                failures[t] = e.what();
            }
        });
    }
    for (auto& client : clients) {
        client.join();
    }
    CHECK(failures == std::vector<std::string>(2));
    v.send_ok(live, us_number(8699));
    // Deliveries run beside each other: each of the 51 is waited for, not only the last.
    CHECK(wait_for_log_lines(v.process(), "warn", "log provider delivery", 51, seconds(10)));
    v.stop();

    static const std::regex millisecond_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
    const LogLines lines = parse_log(v.log());
    std::string other;
    for (const auto& line : lines.other) {
        other += line + "\n";
    }
    INFO("lines that are not JSON objects:\n" << other);
    CHECK(lines.other.empty());
    CHECK(lines.objects.size() > 100);
    size_t provider_lines = 0;
    for (const auto& line : lines.objects) {
        INFO(line.dump());
        CHECK(line.value("level", "") != "");
        const std::string msg = line.value("msg", "");
        CHECK(msg != "");
        if (msg.rfind("log provider", 0) == 0 || msg.find("VERIFYD_PROVIDER=log") == 0)
            ++provider_lines;
        CHECK(std::regex_match(line.value("time", ""), millisecond_time));
    }
    CHECK(provider_lines >= 51);
}

TEST_CASE("with VERIFYD_LOG_LEVEL=warn requests log no lines") {
    VerifydInstance v(Settings{{"VERIFYD_LOG_LEVEL", "warn"}});
    const std::string& key = v.key(kTestA);
    json sent = v.send_ok(key, us_number(8451));
    require_success(v.get_verification(key, sent["id"]));
    require_error(v.check(key, sent["id"], "12"), 400, 4000);
    require_error(v.get("/verify/" + sent["id"].get<std::string>()), 401, 4010);
    // Request lines are written before the answer; wait a little all the same.
    std::this_thread::sleep_for(milliseconds(200));
    INFO(v.log());
    CHECK(raw_lines_with_msg(v.log(), {"request"}).empty());
}

TEST_CASE("an unknown log level (VERIFYD_LOG_LEVEL=bogus) stops start-up with exit status 2") {
    TempDir dir("verifyd-log");
    const std::string keys_path = dir.file("keys.json");
    write_file(keys_path, TestKeys().keys_file());
    Environment env = base_environment(
        free_loopback_port(), "redis://127.0.0.1:" + std::to_string(free_loopback_port()) + "/0",
        keys_path);
    env["VERIFYD_LOG_LEVEL"] = "bogus";
    RunResult result =
        run_process(VERIFYD_BINARY, {}, env, dir.file("output.log"), std::chrono::seconds(5));
    INFO(result.output);
    CHECK_FALSE(result.timed_out);
    CHECK(result.status.exited);
    CHECK(result.status.code == 2);
    CHECK(result.output.find("VERIFYD_LOG_LEVEL") != std::string::npos);
}

TEST_CASE("no log line carries an API key, the hash key or a code, and numbers are masked") {
    const std::string hash_key = random_hex(32);
    VerifydInstance v(Settings{{"VERIFYD_HASH_KEY", hash_key}});
    const std::string& key = v.key(kTestA);

    // Sandbox verifications with ten-digit codes (no accidental matches in other digits),
    // read and checked with the key in either header.
    std::vector<std::string> codes;
    std::vector<std::string> numbers;
    for (int i = 0; i < 4; ++i) {
        numbers.push_back(us_number(8501 + i));
        json sent = v.send_ok(key, numbers.back(), {{"code_length", 10}});
        codes.push_back(v.sandbox_code(key, sent["id"]));
        require_success(
            v.get("/verify/" + sent["id"].get<std::string>(), "", {{"x-api-key", key}}));
        if (i % 2 == 0) {
            require_success(v.check(key, sent["id"], codes.back()));
        }
    }
    const std::string unknown = random_api_key(false);
    require_error(v.get("/verify/vrf_x", unknown), 401, 4011);
    require_error(v.get("/verify/vrf_x", v.key(kRevoked)), 401, 4012);

    // A live send, delivered by the log provider: its delivery line must mask the number.
    const std::string& live = v.key(kLiveA);
    const std::string live_number = us_number(8601);
    json live_sent = v.send_ok(live, live_number, {{"code_length", 10}});
    REQUIRE(v.wait_for_delivery(live, live_sent["id"], "sent").value("status", "") == "sent");
    const std::string live_code = v.live_code_from_log(live_sent["message_id"]);
    v.stop();

    const std::string log = v.log();
    const std::vector<std::string> lines = all_lines(log);
    INFO(log);
    for (const char* name :
         {kTestA, kLiveA, kTestB, kReadOnly, kSendOnly, kRevoked, kExpired, kLimited}) {
        INFO("API key " << name);
        CHECK(occurrences(lines, v.key(name)) == "");
    }
    CHECK(occurrences(lines, unknown) == "");
    CHECK(occurrences(lines, hash_key) == "");
    CHECK(occurrences(lines, uppercase(hash_key)) == "");
    for (const auto& code : codes) {
        CHECK(occurrences(lines, code) == "");
    }

    const std::vector<std::string> checked = raw_lines_with_msg(log, {"request", "delivery"});
    REQUIRE_FALSE(checked.empty());
    CHECK(occurrences(checked, live_code) == "");
    numbers.push_back(live_number);
    for (const auto& number : numbers) {
        // The whole number, or its subscriber part (the digits after +1415).
        CHECK(occurrences(checked, number) == "");
        CHECK(occurrences(checked, number.substr(5)) == "");
    }
    const std::vector<std::string> delivery = raw_lines_with_msg(log, {"delivery"});
    std::string masked_delivery;
    const std::regex masked(R"(\+1415\*+)" + live_number.substr(live_number.size() - 2));
    for (const auto& line : delivery) {
        if (line.find(live_sent["message_id"].get<std::string>()) != std::string::npos &&
            std::regex_search(line, masked)) {
            masked_delivery = line;
        }
    }
    CHECK_FALSE(masked_delivery.empty());
}
