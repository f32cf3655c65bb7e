// Covers config.hpp: load_config's defaults, parsing and ConfigErrors (§6), and its parsers.
#include "verifyd/config.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"
#include "verifyd/crypto.hpp"

using verifyd::Config;
using verifyd::ConfigError;
using verifyd::EnvLookup;
using verifyd::HashKey;
using verifyd::ProviderKind;
using verifyd::RedisEndpoint;
using verifyd::SendWindow;
using verifyd_test::TempFile;

namespace {

using Env = std::map<std::string, std::string>;

const char* const kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

HashKey counting_key() {
    HashKey key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i);
    return key;
}

EnvLookup lookup(Env env) {
    return [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    };
}

// The variables every configuration needs: a hash key and a keys file that exists.
Env required(const TempFile& keys_file) {
    return {{"VERIFYD_HASH_KEY", kKeyHex}, {"VERIFYD_API_KEYS_FILE", keys_file.path()}};
}

Env with(Env env, const std::string& name, const std::string& value) {
    env[name] = value;
    return env;
}

Env without(Env env, const std::string& name) {
    env.erase(name);
    return env;
}

// The variable a ConfigError names; "" when load_config accepted the environment.
std::string rejected_variable(const Env& env) {
    try {
        verifyd::load_config(lookup(env));
    } catch (const ConfigError& e) {
        return e.variable();
    } catch (const std::exception& e) {
        return std::string("<not a ConfigError: ") + e.what() + ">";
    }
    return "";
}

bool same_windows(const std::vector<SendWindow>& a, const std::vector<SendWindow>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.count == y.count && x.seconds == y.seconds;
    });
}

struct Case {
    const char* variable;
    const char* value;
};

void expect_each_rejected(const TempFile& keys, const std::vector<Case>& cases) {
    for (const auto& c : cases) {
        INFO(c.variable << "=\"" << c.value << "\"");
        CHECK(rejected_variable(with(required(keys), c.variable, c.value)) == c.variable);
    }
}

void expect_each_accepted(const TempFile& keys, const std::vector<Case>& cases) {
    for (const auto& c : cases) {
        INFO(c.variable << "=\"" << c.value << "\"");
        CHECK(rejected_variable(with(required(keys), c.variable, c.value)).empty());
    }
}
}  // namespace

TEST_CASE("with only the hash key and the keys file every setting takes its documented default") {
    TempFile keys("{\"keys\": []}");
    const Config config = verifyd::load_config(lookup(required(keys)));

    CHECK(config.listen_host == "0.0.0.0");
    CHECK(config.listen_port == 8080);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    CHECK(config.threads == std::min(cores, 256));
    CHECK_FALSE(config.redis.unix_socket);
    CHECK(config.redis.host == "127.0.0.1");
    CHECK(config.redis.port == 6379);
    CHECK(config.redis.db == 0);
    CHECK(config.redis.user.empty());
    CHECK(config.redis.password.empty());
    CHECK(config.hash_key == counting_key());
    CHECK(config.api_keys_file == keys.path());
    CHECK(config.code_length == 6);
    CHECK(config.code_ttl == 600);
    CHECK(config.max_attempts == 5);
    CHECK(same_windows(config.send_limits, {{5, 600}, {10, 86400}}));
    CHECK(config.resend_cooldown == 30);
    CHECK(config.expired_grace == 86400);
    CHECK(config.key_rpm == 6000);
    CHECK(config.allowed_countries.empty());
    CHECK(config.app_name == "Verify");
    CHECK(config.provider == ProviderKind::None);
    CHECK(config.previous_hash_key_file.empty());
    CHECK(config.idempotency_ttl == 86400);
    CHECK(config.metrics_listen_host.empty());
    CHECK(config.connections.header_timeout_ms == 10000);
    CHECK(config.connections.idle_timeout_ms == 60000);
    CHECK(config.connections.max_connections == 10000);
}

TEST_CASE("the connection settings are read when set and refused outside their ranges") {
    TempFile keys("{\"keys\": []}");
    Env env = required(keys);
    env["VERIFYD_METRICS_LISTEN"] = "127.0.0.1:9090";
    env["VERIFYD_HEADER_TIMEOUT_MS"] = "1000";
    env["VERIFYD_IDLE_TIMEOUT_MS"] = "3600000";
    env["VERIFYD_MAX_CONNECTIONS"] = "1";
    const Config config = verifyd::load_config(lookup(env));
    CHECK(config.metrics_listen_host == "127.0.0.1");
    CHECK(config.metrics_listen_port == 9090);
    CHECK(config.connections.header_timeout_ms == 1000);
    CHECK(config.connections.idle_timeout_ms == 3600000);
    CHECK(config.connections.max_connections == 1);
    expect_each_rejected(keys, {{"VERIFYD_METRICS_LISTEN", "127.0.0.1"},
                                {"VERIFYD_METRICS_LISTEN", ":9090"},
                                {"VERIFYD_METRICS_LISTEN", "0.0.0.0:8080"},
                                {"VERIFYD_HEADER_TIMEOUT_MS", "999"},
                                {"VERIFYD_HEADER_TIMEOUT_MS", "600001"},
                                {"VERIFYD_IDLE_TIMEOUT_MS", "999"},
                                {"VERIFYD_IDLE_TIMEOUT_MS", "3600001"},
                                {"VERIFYD_MAX_CONNECTIONS", "0"},
                                {"VERIFYD_MAX_CONNECTIONS", "1000001"},
                                {"VERIFYD_MAX_CONNECTIONS", "many"}});
}

TEST_CASE("VERIFYD_IDEMPOTENCY_TTL takes 60 to 2592000 seconds") {
    TempFile keys("{\"keys\": []}");
    CHECK(verifyd::load_config(lookup(with(required(keys), "VERIFYD_IDEMPOTENCY_TTL", "60")))
              .idempotency_ttl == 60);
    expect_each_rejected(keys, {{"VERIFYD_IDEMPOTENCY_TTL", "59"},
                                {"VERIFYD_IDEMPOTENCY_TTL", "2592001"},
                                {"VERIFYD_IDEMPOTENCY_TTL", "a day"}});
}

TEST_CASE("the previous hash key file may be absent or empty, but not malformed") {
    TempFile keys("{\"keys\": []}");
    TempFile empty("  \n");
    TempFile previous(kKeyHex);
    TempFile malformed("not a key");
    CHECK_FALSE(verifyd::read_previous_hash_key_file("/nonexistent/previous.key"));
    CHECK_FALSE(verifyd::read_previous_hash_key_file(empty.path()));
    CHECK(verifyd::read_previous_hash_key_file(previous.path()) == counting_key());
    const Config config = verifyd::load_config(
        lookup(with(required(keys), "VERIFYD_HASH_KEY_PREVIOUS_FILE", previous.path())));
    CHECK(config.previous_hash_key_file == previous.path());
    CHECK(rejected_variable(with(required(keys), "VERIFYD_HASH_KEY_PREVIOUS_FILE",
                                 malformed.path())) == "VERIFYD_HASH_KEY_PREVIOUS_FILE");
    CHECK(rejected_variable(with(required(keys), "VERIFYD_HASH_KEY_PREVIOUS_FILE", "")) ==
          "VERIFYD_HASH_KEY_PREVIOUS_FILE");
}

TEST_CASE(
    "the core settings (listen, threads, Redis, codes, limits, countries, app name, provider) are "
    "read from their variables") {
    TempFile keys("{\"keys\": []}");
    Env env = required(keys);
    env["VERIFYD_LISTEN"] = "127.0.0.1:9000";
    env["VERIFYD_THREADS"] = "3";
    env["VERIFYD_REDIS_URL"] = "redis://:pw@cache.internal:6380/2";
    env["VERIFYD_CODE_LENGTH"] = "8";
    env["VERIFYD_CODE_TTL"] = "120";
    env["VERIFYD_MAX_ATTEMPTS"] = "3";
    env["VERIFYD_SEND_LIMITS"] = "3/60,20/3600";
    env["VERIFYD_RESEND_COOLDOWN"] = "0";
    env["VERIFYD_EXPIRED_GRACE"] = "3600";
    env["VERIFYD_KEY_RPM"] = "100";
    env["VERIFYD_ALLOWED_COUNTRIES"] = "gb, US";
    env["VERIFYD_APP_NAME"] = "Acme Login";
    env["VERIFYD_PROVIDER"] = "log";

    const Config config = verifyd::load_config(lookup(env));

    CHECK(config.listen_host == "127.0.0.1");
    CHECK(config.listen_port == 9000);
    CHECK(config.threads == 3);
    CHECK_FALSE(config.redis.unix_socket);
    CHECK(config.redis.host == "cache.internal");
    CHECK(config.redis.port == 6380);
    CHECK(config.redis.password == "pw");
    CHECK(config.redis.db == 2);
    CHECK(config.code_length == 8);
    CHECK(config.code_ttl == 120);
    CHECK(config.max_attempts == 3);
    CHECK(same_windows(config.send_limits, {{3, 60}, {20, 3600}}));
    CHECK(config.resend_cooldown == 0);
    CHECK(config.expired_grace == 3600);
    CHECK(config.key_rpm == 100);
    CHECK(config.allowed_countries == std::set<std::string>{"GB", "US"});
    CHECK(config.app_name == "Acme Login");
    CHECK(config.provider == ProviderKind::Log);
}

TEST_CASE("VERIFYD_LISTEN accepts a bracketed IPv6 address with a port") {
    TempFile keys("{\"keys\": []}");
    const Config config =
        verifyd::load_config(lookup(with(required(keys), "VERIFYD_LISTEN", "[::1]:9000")));
    CHECK((config.listen_host == "::1" || config.listen_host == "[::1]"));
    CHECK(config.listen_port == 9000);
}

TEST_CASE("an empty VERIFYD_ALLOWED_COUNTRIES allows every region") {
    TempFile keys("{\"keys\": []}");
    const Config config =
        verifyd::load_config(lookup(with(required(keys), "VERIFYD_ALLOWED_COUNTRIES", "")));
    CHECK(config.allowed_countries.empty());
}

TEST_CASE("the limits of each numeric setting are accepted") {
    TempFile keys("{\"keys\": []}");
    expect_each_accepted(keys, {{"VERIFYD_THREADS", "1"},
                                {"VERIFYD_THREADS", "256"},
                                {"VERIFYD_CODE_LENGTH", "4"},
                                {"VERIFYD_CODE_LENGTH", "10"},
                                {"VERIFYD_CODE_TTL", "1"},
                                {"VERIFYD_MAX_ATTEMPTS", "1"},
                                {"VERIFYD_RESEND_COOLDOWN", "0"},
                                {"VERIFYD_EXPIRED_GRACE", "0"},
                                {"VERIFYD_KEY_RPM", "1"},
                                {"VERIFYD_LISTEN", "127.0.0.1:1"},
                                {"VERIFYD_LISTEN", "127.0.0.1:65535"}});
}

TEST_CASE("VERIFYD_HASH_KEY_FILE is read from the filesystem, trailing newline allowed") {
    TempFile keys("{\"keys\": []}");
    TempFile key_file(std::string(kKeyHex) + "\n");
    Env env = without(required(keys), "VERIFYD_HASH_KEY");
    env["VERIFYD_HASH_KEY_FILE"] = key_file.path();
    const Config config = verifyd::load_config(lookup(env));
    CHECK(config.hash_key == counting_key());
}

TEST_CASE("a missing hash key names VERIFYD_HASH_KEY") {
    TempFile keys("{\"keys\": []}");
    CHECK(rejected_variable(without(required(keys), "VERIFYD_HASH_KEY")) == "VERIFYD_HASH_KEY");
}

TEST_CASE("a hash key that is not 64 hex characters names VERIFYD_HASH_KEY") {
    TempFile keys("{\"keys\": []}");
    const std::string hex = kKeyHex;
    expect_each_rejected(keys, {{"VERIFYD_HASH_KEY", hex.substr(0, 63).c_str()},
                                {"VERIFYD_HASH_KEY", (hex + "00").c_str()},
                                {"VERIFYD_HASH_KEY", (hex.substr(0, 63) + "g").c_str()},
                                {"VERIFYD_HASH_KEY", ""}});
}

TEST_CASE("setting both VERIFYD_HASH_KEY and VERIFYD_HASH_KEY_FILE is refused") {
    TempFile keys("{\"keys\": []}");
    TempFile key_file(kKeyHex);
    const std::string variable =
        rejected_variable(with(required(keys), "VERIFYD_HASH_KEY_FILE", key_file.path()));
    CHECK((variable == "VERIFYD_HASH_KEY" || variable == "VERIFYD_HASH_KEY_FILE"));
}

TEST_CASE("an unreadable VERIFYD_HASH_KEY_FILE names VERIFYD_HASH_KEY_FILE") {
    TempFile keys("{\"keys\": []}");
    Env env = without(required(keys), "VERIFYD_HASH_KEY");
    env["VERIFYD_HASH_KEY_FILE"] = "/nonexistent/verifyd/hash.key";
    CHECK(rejected_variable(env) == "VERIFYD_HASH_KEY_FILE");
}

TEST_CASE("a VERIFYD_HASH_KEY_FILE that does not hold 64 hex characters is refused") {
    TempFile keys("{\"keys\": []}");
    TempFile key_file(std::string(kKeyHex).substr(0, 62) + "\n");
    Env env = without(required(keys), "VERIFYD_HASH_KEY");
    env["VERIFYD_HASH_KEY_FILE"] = key_file.path();
    const std::string variable = rejected_variable(env);
    CHECK((variable == "VERIFYD_HASH_KEY_FILE" || variable == "VERIFYD_HASH_KEY"));
}

TEST_CASE("a missing keys file setting names VERIFYD_API_KEYS_FILE") {
    TempFile keys("{\"keys\": []}");
    CHECK(rejected_variable(without(required(keys), "VERIFYD_API_KEYS_FILE")) ==
          "VERIFYD_API_KEYS_FILE");
}

TEST_CASE("a listen address without a valid port names VERIFYD_LISTEN") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_LISTEN", "127.0.0.1"},
                                {"VERIFYD_LISTEN", "127.0.0.1:"},
                                {"VERIFYD_LISTEN", "127.0.0.1:0"},
                                {"VERIFYD_LISTEN", "127.0.0.1:70000"},
                                {"VERIFYD_LISTEN", "127.0.0.1:80x"},
                                {"VERIFYD_LISTEN", "abc"}});
}

TEST_CASE("a thread count outside 1..256 names VERIFYD_THREADS") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_THREADS", "0"},
                                {"VERIFYD_THREADS", "-1"},
                                {"VERIFYD_THREADS", "x"},
                                {"VERIFYD_THREADS", "257"},
                                {"VERIFYD_THREADS", "1000"}});
}

TEST_CASE("a code length outside 4..10 names VERIFYD_CODE_LENGTH") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_CODE_LENGTH", "3"},
                                {"VERIFYD_CODE_LENGTH", "11"},
                                {"VERIFYD_CODE_LENGTH", "6x"},
                                {"VERIFYD_CODE_LENGTH", ""}});
}

TEST_CASE("a code TTL below one second names VERIFYD_CODE_TTL") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_CODE_TTL", "0"}, {"VERIFYD_CODE_TTL", "-5"}});
}

TEST_CASE("a maximum of attempts below one names VERIFYD_MAX_ATTEMPTS") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_MAX_ATTEMPTS", "0"}, {"VERIFYD_MAX_ATTEMPTS", "-1"}});
}

TEST_CASE("a send limit that is not COUNT/SECONDS names VERIFYD_SEND_LIMITS") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_SEND_LIMITS", "abc"},
                                {"VERIFYD_SEND_LIMITS", "5/0"},
                                {"VERIFYD_SEND_LIMITS", "0/60"},
                                {"VERIFYD_SEND_LIMITS", "5/"},
                                {"VERIFYD_SEND_LIMITS", "5/600,"}});
}

TEST_CASE("a negative resend cooldown names VERIFYD_RESEND_COOLDOWN") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_RESEND_COOLDOWN", "-1"}});
}

TEST_CASE("a negative expired grace names VERIFYD_EXPIRED_GRACE") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_EXPIRED_GRACE", "-1"}});
}

TEST_CASE("a per-key request limit below one names VERIFYD_KEY_RPM") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_KEY_RPM", "0"}, {"VERIFYD_KEY_RPM", "-100"}});
}

TEST_CASE("a country that is not ISO 3166 alpha-2 names VERIFYD_ALLOWED_COUNTRIES") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_ALLOWED_COUNTRIES", "USA"},
                                {"VERIFYD_ALLOWED_COUNTRIES", "1A"},
                                {"VERIFYD_ALLOWED_COUNTRIES", "GB,USA"}});
}

TEST_CASE("an unknown provider names VERIFYD_PROVIDER") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_PROVIDER", "smtp"}});
}

TEST_CASE("the sent provider needs its base URL and API key") {
    TempFile keys("{\"keys\": []}");
    Env sent = with(required(keys), "VERIFYD_PROVIDER", "sent");
    CHECK(rejected_variable(sent) == "VERIFYD_SENT_BASE_URL");
    sent = with(sent, "VERIFYD_SENT_BASE_URL", "http://127.0.0.1:9/");
    CHECK(rejected_variable(sent) == "VERIFYD_SENT_API_KEY");
    sent = with(sent, "VERIFYD_SENT_API_KEY", "sk_provider");
    Config config = verifyd::load_config(lookup(sent));
    CHECK(config.provider == ProviderKind::Sent);
    CHECK(config.sent.base_url == "http://127.0.0.1:9/");
    CHECK(config.sent.api_key == "sk_provider");
    CHECK(config.sent.template_name == "verify_otp");
    CHECK(config.sent.sender_profile_id.empty());
    CHECK(rejected_variable(with(sent, "VERIFYD_SENT_BASE_URL", "ftp://x")) ==
          "VERIFYD_SENT_BASE_URL");
    CHECK(rejected_variable(with(sent, "VERIFYD_SENT_TEMPLATE", " ")) == "VERIFYD_SENT_TEMPLATE");
    config = verifyd::load_config(lookup(with(with(sent, "VERIFYD_SENT_TEMPLATE", "otp_v2"),
                                              "VERIFYD_SENT_SENDER_PROFILE_ID", "sp_1")));
    CHECK(config.sent.template_name == "otp_v2");
    CHECK(config.sent.sender_profile_id == "sp_1");
}

TEST_CASE("the webhook provider needs a URL and a secret of at least 16 characters") {
    TempFile keys("{\"keys\": []}");
    Env webhook = with(required(keys), "VERIFYD_PROVIDER", "webhook");
    CHECK(rejected_variable(webhook) == "VERIFYD_WEBHOOK_URL");
    webhook = with(webhook, "VERIFYD_WEBHOOK_URL", "https://hooks.example/otp");
    CHECK(rejected_variable(webhook) == "VERIFYD_WEBHOOK_SECRET");
    CHECK(rejected_variable(with(webhook, "VERIFYD_WEBHOOK_SECRET", "too-short")) ==
          "VERIFYD_WEBHOOK_SECRET");
    Config config =
        verifyd::load_config(lookup(with(webhook, "VERIFYD_WEBHOOK_SECRET", "0123456789abcdef")));
    CHECK(config.provider == ProviderKind::Webhook);
    CHECK(config.webhook.url == "https://hooks.example/otp");
    CHECK(config.webhook.secret == "0123456789abcdef");
}

TEST_CASE("delivery settings take their defaults and are read when set") {
    TempFile keys("{\"keys\": []}");
    Config config = verifyd::load_config(lookup(required(keys)));
    CHECK(config.delivery.max_attempts == 8);
    CHECK(config.delivery.timeout_ms == 5000);
    CHECK(config.delivery.backoff_ms == 500);
    CHECK(config.delivery.max_backoff_ms == 60000);
    CHECK(config.delivery.claim_idle_ms == 30000);
    CHECK(config.delivery.workers == 2);
    CHECK(config.delivery.consumer.size() > std::string(":8080").size());
    CHECK(config.delivery.consumer.substr(config.delivery.consumer.size() - 5) == ":8080");
    CHECK(config.templates_file.empty());

    Env env = required(keys);
    env["VERIFYD_DELIVERY_MAX_ATTEMPTS"] = "3";
    env["VERIFYD_DELIVERY_TIMEOUT_MS"] = "800";
    env["VERIFYD_DELIVERY_BACKOFF_MS"] = "50";
    env["VERIFYD_DELIVERY_MAX_BACKOFF_MS"] = "400";
    env["VERIFYD_DELIVERY_CLAIM_IDLE_MS"] = "1500";
    env["VERIFYD_DELIVERY_WORKERS"] = "4";
    env["VERIFYD_DELIVERY_CONSUMER"] = "pod-7";
    env["VERIFYD_TEMPLATES_FILE"] = "/etc/verifyd/templates.json";
    config = verifyd::load_config(lookup(env));
    CHECK(config.delivery.max_attempts == 3);
    CHECK(config.delivery.timeout_ms == 800);
    CHECK(config.delivery.backoff_ms == 50);
    CHECK(config.delivery.max_backoff_ms == 400);
    CHECK(config.delivery.claim_idle_ms == 1500);
    CHECK(config.delivery.workers == 4);
    CHECK(config.delivery.consumer == "pod-7");
    CHECK(config.templates_file == "/etc/verifyd/templates.json");
}

TEST_CASE("malformed delivery settings name their variable") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "0"},
                                {"VERIFYD_DELIVERY_TIMEOUT_MS", "5"},
                                {"VERIFYD_DELIVERY_BACKOFF_MS", "x"},
                                {"VERIFYD_DELIVERY_MAX_BACKOFF_MS", "100"},
                                {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "1000"},
                                {"VERIFYD_DELIVERY_WORKERS", "0"},
                                {"VERIFYD_DELIVERY_CONSUMER", ""},
                                {"VERIFYD_TEMPLATES_FILE", ""},
                                {"VERIFYD_SEAL_KEY", "abc"}});
}

TEST_CASE("the seal key is derived from the hash key unless VERIFYD_SEAL_KEY is set") {
    TempFile keys("{\"keys\": []}");
    Config derived = verifyd::load_config(lookup(required(keys)));
    CHECK(derived.seal_key == verifyd::derive_seal_key(derived.hash_key));
    CHECK(derived.seal_key != derived.hash_key);
    const std::string other(64, 'a');
    Config chosen = verifyd::load_config(lookup(with(required(keys), "VERIFYD_SEAL_KEY", other)));
    HashKey expected{};
    expected.fill(0xaa);
    CHECK(chosen.seal_key == expected);
}

TEST_CASE("a malformed Redis URL names VERIFYD_REDIS_URL") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_REDIS_URL", "http://x"},
                                {"VERIFYD_REDIS_URL", "redis://host:99999"},
                                {"VERIFYD_REDIS_URL", "unix://relative"}});
}

TEST_CASE("a Redis Cluster is its seed nodes, with the URL's password and database 0") {
    TempFile keys("{\"keys\": []}");
    Env env =
        with(required(keys), "VERIFYD_REDIS_CLUSTER", "10.0.0.1:7000, [fd00::7]:7001,redis-c");
    env["VERIFYD_REDIS_URL"] = "redis://:secret@ignored:1/0";
    Config config = verifyd::load_config(lookup(env));
    REQUIRE(config.redis.cluster_seeds.size() == 3);
    CHECK(config.redis.cluster_seeds[0].host == "10.0.0.1");
    CHECK(config.redis.cluster_seeds[0].port == 7000);
    CHECK(config.redis.cluster_seeds[1].host == "fd00::7");
    CHECK(config.redis.cluster_seeds[2].port == 6379);
    CHECK(config.redis.password == "secret");
    CHECK(config.redis.partitions == 256);
}

TEST_CASE(
    "a malformed cluster seed, a cluster beside sentinels, or partitions out of range are "
    "refused") {
    TempFile keys("{\"keys\": []}");
    expect_each_rejected(keys, {{"VERIFYD_REDIS_CLUSTER", "host:port"},
                                {"VERIFYD_REDIS_CLUSTER", "a:1,,b:2"},
                                {"VERIFYD_REDIS_PARTITIONS", "15"},
                                {"VERIFYD_REDIS_PARTITIONS", "4097"},
                                {"VERIFYD_REDIS_PARTITIONS", "256x"}});
    expect_each_accepted(
        keys, {{"VERIFYD_REDIS_PARTITIONS", "16"}, {"VERIFYD_REDIS_PARTITIONS", "4096"}});
    Env both = with(required(keys), "VERIFYD_REDIS_CLUSTER", "127.0.0.1:7000");
    both["VERIFYD_REDIS_SENTINELS"] = "127.0.0.1:26379";
    both["VERIFYD_REDIS_MASTER_NAME"] = "vd";
    CHECK(rejected_variable(both) == "VERIFYD_REDIS_CLUSTER");
    Env database = with(required(keys), "VERIFYD_REDIS_CLUSTER", "127.0.0.1:7000");
    database["VERIFYD_REDIS_URL"] = "redis://127.0.0.1:6379/3";
    CHECK(rejected_variable(database) == "VERIFYD_REDIS_URL");
}

TEST_CASE("numbers with trailing garbage, a sign, inner whitespace or overflow are malformed") {
    TempFile keys("{\"keys\": []}");
    for (const char* variable :
         {"VERIFYD_THREADS", "VERIFYD_CODE_LENGTH", "VERIFYD_CODE_TTL", "VERIFYD_MAX_ATTEMPTS",
          "VERIFYD_RESEND_COOLDOWN", "VERIFYD_EXPIRED_GRACE", "VERIFYD_KEY_RPM"}) {
        expect_each_rejected(keys, {{variable, "6x"},
                                    {variable, "6.0"},
                                    {variable, "+6"},
                                    {variable, "1 0"},
                                    {variable, "0x10"},
                                    {variable, "99999999999999999999"},
                                    {variable, "4294967302"}});
    }
}

TEST_CASE("parse_redis_url reads host, port and database") {
    std::string problem;
    auto endpoint = verifyd::parse_redis_url("redis://127.0.0.1:6379/0", problem);
    REQUIRE(endpoint);
    CHECK_FALSE(endpoint->unix_socket);
    CHECK(endpoint->host == "127.0.0.1");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 0);
    CHECK(endpoint->user.empty());
    CHECK(endpoint->password.empty());

    endpoint = verifyd::parse_redis_url("redis://cache.internal:6380/15", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->host == "cache.internal");
    CHECK(endpoint->port == 6380);
    CHECK(endpoint->db == 15);
}

TEST_CASE("parse_redis_url defaults the database to 0 and the port to 6379") {
    std::string problem;
    auto endpoint = verifyd::parse_redis_url("redis://host:6380", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->host == "host");
    CHECK(endpoint->port == 6380);
    CHECK(endpoint->db == 0);

    endpoint = verifyd::parse_redis_url("redis://otherhost", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->host == "otherhost");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 0);

    endpoint = verifyd::parse_redis_url("redis://otherhost/3", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->host == "otherhost");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 3);
}

TEST_CASE("parse_redis_url reads a password alone or a user and a percent-encoded password") {
    std::string problem;
    auto endpoint = verifyd::parse_redis_url("redis://:secret@host:6379/2", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->user.empty());
    CHECK(endpoint->password == "secret");
    CHECK(endpoint->host == "host");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 2);

    endpoint = verifyd::parse_redis_url("redis://user:pa%40ss@host:6379/1", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->user == "user");
    CHECK(endpoint->password == "pa@ss");
    CHECK(endpoint->host == "host");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 1);
}

TEST_CASE("parse_redis_url reads a bracketed IPv6 host") {
    std::string problem;
    auto endpoint = verifyd::parse_redis_url("redis://[::1]:6379/0", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->host == "::1");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 0);
}

TEST_CASE("parse_redis_url defaults the port of a bracketed IPv6 host") {
    std::string problem;
    auto endpoint = verifyd::parse_redis_url("redis://[::1]/2", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->host == "::1");
    CHECK(endpoint->port == 6379);
    CHECK(endpoint->db == 2);
}

TEST_CASE("parse_redis_url reads a unix socket path") {
    std::string problem;
    auto endpoint = verifyd::parse_redis_url("unix:///var/run/redis.sock", problem);
    REQUIRE(endpoint);
    CHECK(endpoint->unix_socket);
    CHECK(endpoint->path == "/var/run/redis.sock");
}

TEST_CASE("parse_redis_url refuses a malformed URL and says why") {
    for (const char* url :
         {"http://x", "redis://", "redis://host:0", "redis://host:99999", "redis://host:abc",
          "redis://host:6379/x", "redis://host:6379/-1", "unix://", "unix://relative",
          "redis://:pa%zz@host:6379/0", "redis://[::1:6379/0", ""}) {
        INFO(url);
        std::string problem;
        CHECK_FALSE(verifyd::parse_redis_url(url, problem));
        CHECK_FALSE(problem.empty());
    }
}

TEST_CASE("parse_send_limits reads a comma list of COUNT/SECONDS windows") {
    std::string problem;
    auto windows = verifyd::parse_send_limits("5/600,10/86400", problem);
    REQUIRE(windows);
    CHECK(same_windows(*windows, {{5, 600}, {10, 86400}}));

    windows = verifyd::parse_send_limits("3/60", problem);
    REQUIRE(windows);
    CHECK(same_windows(*windows, {{3, 60}}));
}

TEST_CASE("parse_send_limits refuses anything but positive COUNT/SECONDS windows") {
    for (const char* text : {"abc", "5/0", "0/60", "5/", "/600", "5/600,", "5/600,,10/86400",
                             "-5/600", "5/-600", "5/600/1", "5x/600", "5/99999999999999999999"}) {
        INFO(text);
        std::string problem;
        CHECK_FALSE(verifyd::parse_send_limits(text, problem));
        CHECK_FALSE(problem.empty());
    }
}

TEST_CASE("parse_hash_key turns 64 hex characters into 32 bytes") {
    std::string problem;
    auto key = verifyd::parse_hash_key(kKeyHex, problem);
    REQUIRE(key);
    CHECK(*key == counting_key());

    key = verifyd::parse_hash_key(std::string(64, 'f'), problem);
    REQUIRE(key);
    CHECK(std::all_of(key->begin(), key->end(), [](unsigned char b) { return b == 0xff; }));
}

TEST_CASE("parse_hash_key accepts upper-case hex digits") {
    std::string problem;
    auto key = verifyd::parse_hash_key(std::string(64, 'F'), problem);
    REQUIRE(key);
    CHECK(std::all_of(key->begin(), key->end(), [](unsigned char b) { return b == 0xff; }));
}

TEST_CASE("parse_hash_key refuses anything but 64 hex characters") {
    const std::string hex = kKeyHex;
    for (const std::string& text :
         {hex.substr(0, 63), hex + "0", hex + "00", hex.substr(0, 63) + "g",
          hex.substr(0, 62) + " 0", std::string()}) {
        INFO(text);
        std::string problem;
        CHECK_FALSE(verifyd::parse_hash_key(text, problem));
        CHECK_FALSE(problem.empty());
    }
}

TEST_CASE("VERIFYD_SENT_WEBHOOK_SECRET is Sent's whsec_ secret, read as the key it encodes") {
    TempFile keys("{\"keys\": []}");
    const Config config = verifyd::load_config(lookup(with(
        required(keys), "VERIFYD_SENT_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")));
    CHECK(config.sent_webhook_key.size() == 24);
    CHECK(verifyd::load_config(lookup(required(keys))).sent_webhook_key.empty());
    expect_each_rejected(keys, {{"VERIFYD_SENT_WEBHOOK_SECRET", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                                {"VERIFYD_SENT_WEBHOOK_SECRET", "whsec_not base64!"},
                                {"VERIFYD_SENT_WEBHOOK_SECRET", "whsec_c2hvcnQ="},
                                {"VERIFYD_SENT_WEBHOOK_SECRET", ""}});
}

TEST_CASE("VERIFYD_EVENTS_URL needs an http(s) URL and a VERIFYD_EVENTS_SECRET of 16 characters") {
    TempFile keys("{\"keys\": []}");
    const Env events = with(with(required(keys), "VERIFYD_EVENTS_URL", "https://hooks.example/v"),
                            "VERIFYD_EVENTS_SECRET", "0123456789abcdef");
    const Config config = verifyd::load_config(lookup(events));
    CHECK(config.events.url == "https://hooks.example/v");
    CHECK(config.events.secret == "0123456789abcdef");
    CHECK_FALSE(config.events.replica.empty());
    CHECK(verifyd::load_config(lookup(required(keys))).events.url.empty());
    CHECK(rejected_variable(without(events, "VERIFYD_EVENTS_SECRET")) == "VERIFYD_EVENTS_SECRET");
    CHECK(rejected_variable(with(events, "VERIFYD_EVENTS_SECRET", "short")) ==
          "VERIFYD_EVENTS_SECRET");
    CHECK(rejected_variable(with(events, "VERIFYD_EVENTS_URL", "ftp://x")) == "VERIFYD_EVENTS_URL");
}

TEST_CASE("VERIFYD_POLICY_FILE is a path and VERIFYD_FRAUD_GUARD is on, monitor or off") {
    TempFile keys("{\"keys\": []}");
    const Config config = verifyd::load_config(
        lookup(with(with(required(keys), "VERIFYD_POLICY_FILE", "/etc/verifyd/policy.json"),
                    "VERIFYD_FRAUD_GUARD", "monitor")));
    CHECK(config.policy_file == "/etc/verifyd/policy.json");
    CHECK(config.fraud_guard == verifyd::GuardMode::Monitor);
    const Config defaults = verifyd::load_config(lookup(required(keys)));
    CHECK(defaults.policy_file.empty());
    CHECK(defaults.fraud_guard == verifyd::GuardMode::On);
    expect_each_accepted(keys, {{"VERIFYD_FRAUD_GUARD", "on"}, {"VERIFYD_FRAUD_GUARD", "off"}});
    expect_each_rejected(keys, {{"VERIFYD_FRAUD_GUARD", "maybe"},
                                {"VERIFYD_FRAUD_GUARD", "ON"},
                                {"VERIFYD_POLICY_FILE", " "}});
}

TEST_CASE("the fraud guard's settings default to §6 and are refused outside their ranges") {
    TempFile keys("{\"keys\": []}");
    const auto defaults = verifyd::load_config(lookup(required(keys))).fraud;
    CHECK(defaults.window == 3600);
    CHECK(defaults.settle_seconds == 120);
    CHECK(defaults.min_sends == 20);
    CHECK(defaults.min_conversion == Approx(0.2));
    CHECK(defaults.max_pending == 20);
    CHECK(defaults.block_seconds == 3600);
    CHECK(same_windows(defaults.client_ip_limits, {{20, 3600}}));
    CHECK(same_windows(defaults.client_id_limits, {{10, 3600}}));

    Env env = required(keys);
    env["VERIFYD_FRAUD_WINDOW"] = "600";
    env["VERIFYD_FRAUD_SETTLE_SECONDS"] = "30";
    env["VERIFYD_FRAUD_MIN_CONVERSION"] = "0.35";
    env["VERIFYD_CLIENT_IP_LIMIT"] = "5/60,50/3600";
    const auto set = verifyd::load_config(lookup(env)).fraud;
    CHECK(set.window == 600);
    CHECK(set.settle_seconds == 30);
    CHECK(set.min_conversion == Approx(0.35));
    CHECK(same_windows(set.client_ip_limits, {{5, 60}, {50, 3600}}));

    expect_each_rejected(keys, {{"VERIFYD_FRAUD_WINDOW", "9"},
                                {"VERIFYD_FRAUD_SETTLE_SECONDS", "0"},
                                {"VERIFYD_FRAUD_SETTLE_SECONDS", "3600"},
                                {"VERIFYD_FRAUD_MIN_SENDS", "0"},
                                {"VERIFYD_FRAUD_MIN_CONVERSION", "1.5"},
                                {"VERIFYD_FRAUD_MIN_CONVERSION", "-0.1"},
                                {"VERIFYD_FRAUD_MIN_CONVERSION", "20%"},
                                {"VERIFYD_FRAUD_MIN_CONVERSION", ""},
                                {"VERIFYD_FRAUD_MAX_PENDING", "0"},
                                {"VERIFYD_FRAUD_BLOCK_SECONDS", "86401"},
                                {"VERIFYD_CLIENT_IP_LIMIT", "10"},
                                {"VERIFYD_CLIENT_ID_LIMIT", "5/0"}});
    expect_each_accepted(keys, {{"VERIFYD_FRAUD_MIN_CONVERSION", "0"},
                                {"VERIFYD_FRAUD_MIN_CONVERSION", "1"},
                                {"VERIFYD_FRAUD_BLOCK_SECONDS", "86400"}});
}
