// The command line and start-up (§3 keygen, §6): --version, --help, keygen, and the
// exit status 2 that names a missing or malformed setting.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/api_checks.hpp"
#include "support/free_port.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

RunResult run_verifyd(const std::vector<std::string>& args, const Environment& env = {}) {
    TempDir dir("verifyd-cli");
    return run_process(VERIFYD_BINARY, args, env, dir.file("output.log"), std::chrono::seconds(5));
}

struct Keygen {
    std::string key;
    json entry;
};

// The `key: …` line and the JSON entry of keygen's output.
Keygen parse_keygen(const std::string& output) {
    Keygen result;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("key: ", 0) == 0) {
            result.key = line.substr(5);
        }
        json parsed = json::parse(line, nullptr, false);
        if (parsed.is_object()) {
            result.entry = parsed;
        }
    }
    if (result.entry.is_null()) {
        // The entry may be printed over several lines.
        size_t open = output.find('{');
        size_t close = output.rfind('}');
        if (open != std::string::npos && close != std::string::npos && close > open) {
            json parsed = json::parse(output.substr(open, close - open + 1), nullptr, false);
            if (parsed.is_object()) {
                result.entry = parsed;
            }
        }
    }
    return result;
}

// Everything verifyd needs to start, with Redis pointing at a port nobody listens on.
Environment valid_environment(const TempDir& dir) {
    const std::string keys_path = dir.file("keys.json");
    write_file(keys_path, TestKeys().keys_file());
    return base_environment(free_loopback_port(),
                            "redis://127.0.0.1:" + std::to_string(free_loopback_port()) + "/0",
                            keys_path);
}

}  // namespace

TEST_CASE("verifyd --version exits 0 and prints its version") {
    RunResult result = run_verifyd({"--version"});
    INFO(result.output);
    CHECK(result.status.exited);
    CHECK(result.status.code == 0);
    CHECK(std::regex_search(result.output, std::regex(R"(\d+\.\d+\.\d+)")));
}

TEST_CASE("verifyd --help exits 0 and mentions keygen") {
    RunResult result = run_verifyd({"--help"});
    INFO(result.output);
    CHECK(result.status.exited);
    CHECK(result.status.code == 0);
    CHECK(result.output.find("keygen") != std::string::npos);
}

TEST_CASE("verifyd keygen prints a new test key, its keys-file entry and its account SID") {
    RunResult result = run_verifyd({"keygen", "--account", "acct_x", "--mode", "test"});
    INFO(result.output);
    CHECK(result.status.exited);
    CHECK(result.status.code == 0);
    Keygen keygen = parse_keygen(result.output);
    CHECK(std::regex_match(keygen.key, std::regex("sk_test_[A-Za-z0-9]{32,}")));
    REQUIRE(keygen.entry.is_object());
    CHECK(keygen.entry.value("hash", "") == key_file_hash(keygen.key));
    CHECK(keygen.entry.value("mode", "") == "test");
    CHECK(keygen.entry.value("account", "") == "acct_x");
    CHECK(keygen.entry.value("id", "") != "");
    // The user name of the Twilio face's HTTP Basic (§11).
    CHECK(result.output.find("\naccount_sid: " + twilio_account_sid_of("acct_x") + "\n") !=
          std::string::npos);

    RunResult again = run_verifyd({"keygen", "--account", "acct_x", "--mode", "test"});
    CHECK(parse_keygen(again.output).key != keygen.key);
}

TEST_CASE("verifyd keygen makes live keys and takes scopes") {
    RunResult result = run_verifyd({"keygen", "--account", "acct_y", "--mode", "live", "--scopes",
                                    "verify:read,verify:check"});
    INFO(result.output);
    CHECK(result.status.code == 0);
    Keygen keygen = parse_keygen(result.output);
    CHECK(std::regex_match(keygen.key, std::regex("sk_live_[A-Za-z0-9]{32,}")));
    REQUIRE(keygen.entry.is_object());
    CHECK(keygen.entry.value("mode", "") == "live");
    CHECK(keygen.entry.value("hash", "") == key_file_hash(keygen.key));
    REQUIRE(keygen.entry["scopes"].is_array());
    auto scopes = keygen.entry["scopes"].get<std::set<std::string>>();
    CHECK(scopes == std::set<std::string>{"verify:read", "verify:check"});
}

TEST_CASE("verifyd keygen refuses an unknown mode, scope or a missing account") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"keygen", "--account", "acct_x", "--mode", "bogus"},
             {"keygen", "--account", "acct_x"},
             {"keygen", "--mode", "test"},
             {"keygen", "--account", "acct_x", "--mode", "test", "--scopes", "verify:everything"},
         }) {
        std::string joined;
        for (const auto& arg : args) {
            joined += arg + " ";
        }
        INFO("verifyd " << joined);
        RunResult result = run_verifyd(args);
        INFO(result.output);
        CHECK_FALSE(result.timed_out);
        CHECK(result.status.exited);
        CHECK(result.status.code != 0);
    }
}

TEST_CASE("a key made by verifyd keygen authenticates once its entry is in the keys file") {
    RunResult result = run_verifyd({"keygen", "--account", "acct_k", "--mode", "test"});
    Keygen keygen = parse_keygen(result.output);
    REQUIRE(keygen.entry.is_object());
    VerifydInstance v(InstanceOptions{{}, {keygen.entry}});
    json sent = v.send_ok(keygen.key, us_number(12001));
    CHECK(sent["sandbox"] == true);
    // It belongs to its own account.
    require_error(v.get_verification(v.key(kTestA), sent["id"]), 404, 4040);
}

TEST_CASE("a missing or malformed setting stops start-up with exit status 2 naming it") {
    TempDir dir("verifyd-config");
    const Environment valid = valid_environment(dir);
    const std::string bad_keys = dir.file("bad-keys.json");
    write_file(bad_keys, "{\"keys\": [{\"id\": \"k\"");
    const std::string bad_policy = dir.file("bad-policy.json");
    write_file(bad_policy, R"({"default": {"prefixes": {"block": ["4470"]}}})");

    const std::vector<std::pair<std::string, std::optional<std::string>>> cases = {
        {"VERIFYD_CODE_LENGTH", "3"},
        {"VERIFYD_CODE_LENGTH", "11"},
        {"VERIFYD_CODE_LENGTH", "six"},
        {"VERIFYD_SEND_LIMITS", "abc"},
        {"VERIFYD_SEND_LIMITS", "5/"},
        {"VERIFYD_HASH_KEY", "zz"},
        {"VERIFYD_HASH_KEY", std::string(62, 'a')},
        {"VERIFYD_HASH_KEY", std::string(64, 'g')},
        {"VERIFYD_HASH_KEY", std::nullopt},
        {"VERIFYD_REDIS_URL", "http://x"},
        {"VERIFYD_REDIS_URL", "redis://127.0.0.1:notaport/0"},
        {"VERIFYD_API_KEYS_FILE", std::nullopt},
        {"VERIFYD_API_KEYS_FILE", dir.file("does-not-exist.json")},
        {"VERIFYD_API_KEYS_FILE", bad_keys},
        {"VERIFYD_LISTEN", "nonsense"},
        {"VERIFYD_PROVIDER", "carrier-pigeon"},
        {"VERIFYD_CODE_TTL", "0"},
        {"VERIFYD_CODE_TTL", "ten"},
        {"VERIFYD_RESEND_COOLDOWN", "-1"},
        {"VERIFYD_EXPIRED_GRACE", "abc"},
        {"VERIFYD_KEY_RPM", "abc"},
        {"VERIFYD_MAX_ATTEMPTS", "abc"},
        {"VERIFYD_THREADS", "abc"},
        {"VERIFYD_ALLOWED_COUNTRIES", "USA"},
        {"VERIFYD_POLICY_FILE", bad_policy},
        {"VERIFYD_POLICY_FILE", dir.file("no-policy.json")},
        {"VERIFYD_FRAUD_GUARD", "maybe"},
    };
    for (const auto& [name, value] : cases) {
        INFO(name << (value ? "=" + *value : std::string(" unset")));
        RunResult result = run_verifyd({}, apply_settings(valid, {{name, value}}));
        INFO("output: " << result.output);
        CHECK_FALSE(result.timed_out);
        CHECK(result.status.exited);
        CHECK(result.status.code == 2);
        CHECK(result.output.find(name) != std::string::npos);
    }
}

TEST_CASE("a missing or malformed delivery setting stops start-up with exit status 2 naming it") {
    TempDir dir("verifyd-delivery-config");
    const int port = free_loopback_port();
    const Environment sent = apply_settings(
        valid_environment(dir), {{"VERIFYD_LISTEN", "127.0.0.1:" + std::to_string(port)},
                                 {"VERIFYD_PROVIDER", "sent"},
                                 {"VERIFYD_SENT_BASE_URL", "http://127.0.0.1:9"},
                                 {"VERIFYD_SENT_API_KEY", "sent_key_0123456789"}});
    // The valid settings the cases start from do start.
    {
        Process valid(VERIFYD_BINARY, {}, sent, dir.file("valid.log"));
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (status != 200 && valid.running() && std::chrono::steady_clock::now() < deadline) {
            try {
                status = HttpClient(port, std::chrono::seconds(1)).get("/healthz").status;
            } catch (const HttpError&) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        INFO(valid.log());
        CHECK(status == 200);
    }
    const std::string bad_templates = dir.file("bad-templates.json");
    write_file(bad_templates, "{\"en\": ");
    const Environment webhook =
        apply_settings(sent, {{"VERIFYD_PROVIDER", "webhook"},
                              {"VERIFYD_WEBHOOK_URL", "http://127.0.0.1:9/hook"},
                              {"VERIFYD_WEBHOOK_SECRET", "whsec_0123456789abcdef"}});

    struct Case {
        std::string name;
        const Environment& base;
        std::optional<std::string> value;
    };
    const std::vector<Case> cases = {
        {"VERIFYD_SENT_BASE_URL", sent, std::nullopt},
        {"VERIFYD_SENT_BASE_URL", sent, "not a url"},
        {"VERIFYD_SENT_API_KEY", sent, std::nullopt},
        {"VERIFYD_SEAL_KEY", sent, "zz"},
        {"VERIFYD_SEAL_KEY", sent, std::string(62, 'a')},
        {"VERIFYD_DELIVERY_MAX_ATTEMPTS", sent, "0"},
        {"VERIFYD_DELIVERY_MAX_ATTEMPTS", sent, "many"},
        {"VERIFYD_DELIVERY_TIMEOUT_MS", sent, "abc"},
        {"VERIFYD_DELIVERY_BACKOFF_MS", sent, "-5"},
        {"VERIFYD_DELIVERY_WORKERS", sent, "0"},
        {"VERIFYD_TEMPLATES_FILE", sent, dir.file("does-not-exist.json")},
        {"VERIFYD_TEMPLATES_FILE", sent, bad_templates},
        {"VERIFYD_WEBHOOK_URL", webhook, std::nullopt},
        {"VERIFYD_WEBHOOK_SECRET", webhook, std::nullopt},
        {"VERIFYD_WEBHOOK_SECRET", webhook, "fifteen-chars-x"},
    };
    for (const auto& c : cases) {
        INFO(c.name << (c.value ? "=" + *c.value : std::string(" unset")) << " with provider "
                    << c.base.at("VERIFYD_PROVIDER"));
        RunResult result = run_verifyd({}, apply_settings(c.base, {{c.name, c.value}}));
        INFO("output: " << result.output);
        CHECK_FALSE(result.timed_out);
        CHECK(result.status.exited);
        CHECK(result.status.code == 2);
        CHECK(result.output.find(c.name) != std::string::npos);
    }
}

TEST_CASE("VERIFYD_HASH_KEY_FILE may hold the hash key instead of VERIFYD_HASH_KEY") {
    TempDir dir("verifyd-hash-key");
    const std::string path = dir.file("hash.key");
    write_file(path, random_hex(32) + "\n");
    VerifydInstance v(
        Settings{{"VERIFYD_HASH_KEY", std::nullopt}, {"VERIFYD_HASH_KEY_FILE", path}});
    json sent = v.send_ok(v.key(kTestA), us_number(12201));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    CHECK(require_success(v.check(v.key(kTestA), sent["id"], code)).value("verified", false));
}

TEST_CASE("the log provider warns at start-up that it is for development") {
    VerifydInstance v;
    // The delivery threads make their providers as they start, beside the listener.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string log;
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        log = v.log();
        std::transform(log.begin(), log.end(), log.begin(), ::tolower);
    } while (log.find("development only") == std::string::npos &&
             std::chrono::steady_clock::now() < give_up);
    INFO(v.log());
    CHECK(log.find("\"level\":\"warn\"") != std::string::npos);
    CHECK(log.find("development only") != std::string::npos);
}

TEST_CASE("verifyd stops within five seconds of SIGTERM") {
    VerifydInstance v;
    v.send_ok(v.key(kTestA), us_number(12101));
    ExitStatus status = v.stop();
    INFO(status.describe());
    CHECK((status.exited || status.signal == SIGTERM));
}
