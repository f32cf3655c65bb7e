// Reads the VERIFYD_* environment into Config: each setting's default, range and
// parser, the values themselves parsed by config_values.cpp; a bad value throws
// ConfigError naming the variable, so start-up fails loudly. Also the sections of Config
// that components take (api_settings, provider_settings, outbox_settings).
#include "verifyd/config.hpp"

#include <phonenumbers/phonenumberutil.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "verifyd/crypto.hpp"
#include "verifyd/redis_keys.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

class Reader {
  public:
    explicit Reader(const EnvLookup& env) : env_(env) {}

    std::optional<std::string> raw(const std::string& name) const { return env_(name); }

    long long integer(const std::string& name, long long fallback, long long min,
                      long long max) const {
        auto text = env_(name);
        if (!text) return fallback;
        auto value = parse_whole_number(*text);
        if (!value || *value < min || *value > max)
            throw ConfigError(name, "must be a whole number from " + std::to_string(min) + " to " +
                                        std::to_string(max) + ", got \"" + *text + "\"");
        return *value;
    }

  private:
    const EnvLookup& env_;
};

HashKey load_hash_key(const Reader& reader, Config& config) {
    auto inline_key = reader.raw("VERIFYD_HASH_KEY");
    auto key_file = reader.raw("VERIFYD_HASH_KEY_FILE");
    if (inline_key && key_file)
        throw ConfigError("VERIFYD_HASH_KEY", "set either it or VERIFYD_HASH_KEY_FILE, not both");
    if (key_file) {
        config.hash_key_file = *key_file;
        return read_hash_key_file(*key_file);
    }
    if (!inline_key)
        throw ConfigError("VERIFYD_HASH_KEY",
                          "is required (64 hex characters), or set VERIFYD_HASH_KEY_FILE");
    std::string problem;
    auto key = parse_hash_key(*inline_key, problem);
    if (!key) throw ConfigError("VERIFYD_HASH_KEY", problem);
    return *key;
}

std::set<std::string> parse_countries(const std::string& text) {
    std::set<std::string> countries;
    if (trim(text).empty()) return countries;
    std::set<std::string> supported;
    i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetSupportedRegions(&supported);
    for (const auto& part : split(text, ',')) {
        std::string region = trim(part);
        std::transform(region.begin(), region.end(), region.begin(), ::toupper);
        if (region.size() != 2 || !supported.count(region))
            throw ConfigError("VERIFYD_ALLOWED_COUNTRIES",
                              "\"" + trim(part) + "\" is not an ISO 3166 alpha-2 region");
        countries.insert(region);
    }
    return countries;
}

// A comma list of host:port (a bare host takes `default_port`).
std::vector<HostPort> parse_host_ports(const char* variable, const std::string& text,
                                       int default_port) {
    std::vector<HostPort> nodes;
    for (const auto& part : split(text, ',')) {
        HostPort node;
        std::string problem;
        if (!parse_host_port(trim(part), default_port, node.host, node.port, problem))
            throw ConfigError(variable,
                              "\"" + trim(part) + "\": " + problem + " (expected host:port,…)");
        nodes.push_back(node);
    }
    if (nodes.empty()) throw ConfigError(variable, "names no node (expected host:port,…)");
    return nodes;
}

// Sentinels or a cluster instead of the URL's server, and what every mode shares.
void load_redis_topology(Reader& reader, RedisEndpoint& redis) {
    if (auto sentinels = reader.raw("VERIFYD_REDIS_SENTINELS")) {
        redis.sentinels = parse_host_ports("VERIFYD_REDIS_SENTINELS", *sentinels, 26379);
        redis.master_name = reader.raw("VERIFYD_REDIS_MASTER_NAME").value_or("");
        if (trim(redis.master_name).empty())
            throw ConfigError("VERIFYD_REDIS_MASTER_NAME",
                              "is required with VERIFYD_REDIS_SENTINELS");
        redis.sentinel_password = reader.raw("VERIFYD_REDIS_SENTINEL_PASSWORD").value_or("");
    }
    if (auto seeds = reader.raw("VERIFYD_REDIS_CLUSTER")) {
        if (!redis.sentinels.empty())
            throw ConfigError("VERIFYD_REDIS_CLUSTER", "excludes VERIFYD_REDIS_SENTINELS");
        redis.cluster_seeds = parse_host_ports("VERIFYD_REDIS_CLUSTER", *seeds, 6379);
        if (redis.unix_socket || redis.db != 0)
            throw ConfigError("VERIFYD_REDIS_URL",
                              "with VERIFYD_REDIS_CLUSTER only its user and password are used: "
                              "no unix socket, and database 0");
    }
    redis.wait_replicas = static_cast<int>(reader.integer("VERIFYD_REDIS_WAIT_REPLICAS", 0, 0, 16));
    redis.wait_timeout_ms =
        static_cast<int>(reader.integer("VERIFYD_REDIS_WAIT_TIMEOUT_MS", 200, 10, 10000));
    redis.partitions = static_cast<int>(reader.integer(
        "VERIFYD_REDIS_PARTITIONS", kDefaultPartitions, kMinPartitions, kMaxPartitions));
}

ProviderKind parse_provider(const std::optional<std::string>& text) {
    if (!text || text->empty()) return ProviderKind::None;
    if (*text == "log") return ProviderKind::Log;
    if (*text == "sent") return ProviderKind::Sent;
    if (*text == "webhook") return ProviderKind::Webhook;
    throw ConfigError("VERIFYD_PROVIDER", "must be log, sent or webhook, got \"" + *text + "\"");
}

std::string required(const Reader& reader, const std::string& name, const std::string& why) {
    auto value = reader.raw(name);
    if (!value || trim(*value).empty()) throw ConfigError(name, "is required " + why);
    return *value;
}

std::string http_url(const Reader& reader, const std::string& name, const std::string& why) {
    std::string url = required(reader, name, why);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
        throw ConfigError(name, "must be an http:// or https:// URL");
    if (url.find_first_of(" \t\r\n") != std::string::npos)
        throw ConfigError(name, "must not contain white space");
    return url;
}

void load_provider_settings(Reader& reader, Config& config) {
    config.provider = parse_provider(reader.raw("VERIFYD_PROVIDER"));
    if (config.provider == ProviderKind::Sent) {
        const std::string why = "with VERIFYD_PROVIDER=sent";
        config.sent.base_url = http_url(reader, "VERIFYD_SENT_BASE_URL", why);
        config.sent.api_key = required(reader, "VERIFYD_SENT_API_KEY", why);
    }
    if (auto name = reader.raw("VERIFYD_SENT_TEMPLATE")) {
        if (trim(*name).empty() || name->size() > 128)
            throw ConfigError("VERIFYD_SENT_TEMPLATE", "must be 1 to 128 characters");
        config.sent.template_name = *name;
    }
    config.sent.sender_profile_id = reader.raw("VERIFYD_SENT_SENDER_PROFILE_ID").value_or("");
    if (config.provider == ProviderKind::Webhook) {
        const std::string why = "with VERIFYD_PROVIDER=webhook";
        config.webhook.url = http_url(reader, "VERIFYD_WEBHOOK_URL", why);
        config.webhook.secret = required(reader, "VERIFYD_WEBHOOK_SECRET", why);
        if (config.webhook.secret.size() < 16)
            throw ConfigError("VERIFYD_WEBHOOK_SECRET", "must be at least 16 characters");
    }
    if (auto secret = reader.raw("VERIFYD_SENT_WEBHOOK_SECRET")) {
        const std::string prefix = "whsec_";
        std::optional<std::string> key;
        if (secret->rfind(prefix, 0) == 0) key = decode_base64(secret->substr(prefix.size()));
        if (!key || key->size() < 16)
            throw ConfigError("VERIFYD_SENT_WEBHOOK_SECRET",
                              "must be the endpoint's signing secret as Sent shows it: whsec_ "
                              "and base64 of at least 16 bytes");
        config.sent_webhook_key = *key;
    }
}

void load_events_settings(Reader& reader, Config& config) {
    EventsSettings& events = config.events;
    if (!reader.raw("VERIFYD_EVENTS_URL")) return;
    const std::string why = "with VERIFYD_EVENTS_URL";
    events.url = http_url(reader, "VERIFYD_EVENTS_URL", why);
    events.secret = required(reader, "VERIFYD_EVENTS_SECRET", why);
    if (events.secret.size() < 16)
        throw ConfigError("VERIFYD_EVENTS_SECRET", "must be at least 16 characters");
    events.timeout_ms = config.delivery.timeout_ms;
    events.backoff_ms = config.delivery.backoff_ms;
    events.max_backoff_ms = config.delivery.max_backoff_ms;
    // Stable across restarts like the delivery consumer, so that a replica restarted
    // under its name takes its lease back at once.
    events.replica = config.delivery.consumer;
}

void load_delivery_settings(Reader& reader, Config& config) {
    DeliverySettings& d = config.delivery;
    d.max_attempts = static_cast<int>(reader.integer("VERIFYD_DELIVERY_MAX_ATTEMPTS", 8, 1, 100));
    d.timeout_ms =
        static_cast<int>(reader.integer("VERIFYD_DELIVERY_TIMEOUT_MS", 5000, 100, 120000));
    d.backoff_ms =
        static_cast<int>(reader.integer("VERIFYD_DELIVERY_BACKOFF_MS", 500, 10, 3600000));
    d.max_backoff_ms = static_cast<int>(reader.integer(
        "VERIFYD_DELIVERY_MAX_BACKOFF_MS", std::max(60000, d.backoff_ms), d.backoff_ms, 86400000));
    // A job may only be taken over once its holder has certainly given up on it.
    d.claim_idle_ms = static_cast<int>(reader.integer("VERIFYD_DELIVERY_CLAIM_IDLE_MS",
                                                      std::max(30000, 2 * d.timeout_ms),
                                                      d.timeout_ms + 500, 86400000));
    d.workers = static_cast<int>(reader.integer("VERIFYD_DELIVERY_WORKERS", 2, 1, 64));
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    d.consumer = reader.raw("VERIFYD_DELIVERY_CONSUMER")
                     .value_or(std::string(host) + ":" + std::to_string(config.listen_port));
    if (trim(d.consumer).empty() || d.consumer.size() > 200)
        throw ConfigError("VERIFYD_DELIVERY_CONSUMER", "must be 1 to 200 characters");
}

HashKey load_seal_key(const Reader& reader, Config& config) {
    auto hex = reader.raw("VERIFYD_SEAL_KEY");
    config.seal_key_from_hash_key = !hex;
    if (!hex) return derive_seal_key(config.hash_key);
    std::string problem;
    auto key = parse_hash_key(*hex, problem);
    if (!key) throw ConfigError("VERIFYD_SEAL_KEY", problem);
    return *key;
}

}  // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

namespace {

std::vector<SendWindow> read_windows(const Reader& reader, const char* name,
                                     std::vector<SendWindow> fallback) {
    auto text = reader.raw(name);
    if (!text) return fallback;
    std::string problem;
    auto windows = parse_send_limits(*text, problem);
    if (!windows) throw ConfigError(name, problem);
    return *windows;
}

void load_fraud_settings(const Reader& reader, FraudSettings& fraud) {
    fraud.window = static_cast<int>(reader.integer("VERIFYD_FRAUD_WINDOW", 3600, 10, 7 * 86400));
    fraud.settle_seconds =
        static_cast<int>(reader.integer("VERIFYD_FRAUD_SETTLE_SECONDS", 120, 1, 86400));
    // A send must settle within the window, or it would leave it uncounted.
    if (fraud.settle_seconds >= fraud.window)
        throw ConfigError(
            "VERIFYD_FRAUD_SETTLE_SECONDS",
            "must be less than VERIFYD_FRAUD_WINDOW (" + std::to_string(fraud.window) + ")");
    fraud.min_sends =
        static_cast<int>(reader.integer("VERIFYD_FRAUD_MIN_SENDS", 20, 1, 1000000000));
    if (auto text = reader.raw("VERIFYD_FRAUD_MIN_CONVERSION")) {
        char* end = nullptr;
        const std::string value = trim(*text);
        double conversion = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !(conversion >= 0.0 && conversion <= 1.0))
            throw ConfigError("VERIFYD_FRAUD_MIN_CONVERSION",
                              "must be a number from 0 to 1, got \"" + *text + "\"");
        fraud.min_conversion = conversion;
    }
    fraud.max_pending =
        static_cast<int>(reader.integer("VERIFYD_FRAUD_MAX_PENDING", 20, 1, 1000000000));
    fraud.block_seconds =
        static_cast<int>(reader.integer("VERIFYD_FRAUD_BLOCK_SECONDS", 3600, 1, 86400));
    fraud.client_ip_limits = read_windows(reader, "VERIFYD_CLIENT_IP_LIMIT", {{20, 3600}});
    fraud.client_id_limits = read_windows(reader, "VERIFYD_CLIENT_ID_LIMIT", {{10, 3600}});
}

void load_listener_settings(const Reader& reader, Config& config) {
    if (auto listen = reader.raw("VERIFYD_LISTEN")) {
        std::string problem;
        if (!parse_host_port(*listen, 0, config.listen_host, config.listen_port, problem))
            throw ConfigError("VERIFYD_LISTEN", problem);
    }
    if (auto listen = reader.raw("VERIFYD_METRICS_LISTEN")) {
        std::string problem;
        if (!parse_host_port(*listen, 0, config.metrics_listen_host, config.metrics_listen_port,
                             problem))
            throw ConfigError("VERIFYD_METRICS_LISTEN", problem);
        if (config.metrics_listen_port == config.listen_port)
            throw ConfigError("VERIFYD_METRICS_LISTEN",
                              "must use another port than VERIFYD_LISTEN (" +
                                  std::to_string(config.listen_port) + ")");
    }
    ConnectionLimits& limits = config.connections;
    limits.header_timeout_ms =
        static_cast<int>(reader.integer("VERIFYD_HEADER_TIMEOUT_MS", 10000, 1000, 600000));
    limits.idle_timeout_ms =
        static_cast<int>(reader.integer("VERIFYD_IDLE_TIMEOUT_MS", 60000, 1000, 3600000));
    limits.max_connections =
        static_cast<int>(reader.integer("VERIFYD_MAX_CONNECTIONS", 10000, 1, 1000000));
}

}  // namespace

Config load_config(const EnvLookup& env) {
    Reader reader(env);
    Config config;

    load_listener_settings(reader, config);
    long long cores = std::min(256u, std::max(1u, std::thread::hardware_concurrency()));
    config.threads = static_cast<int>(reader.integer("VERIFYD_THREADS", cores, 1, 256));
    if (auto url = reader.raw("VERIFYD_REDIS_URL")) {
        std::string problem;
        auto endpoint = parse_redis_url(*url, problem);
        if (!endpoint) throw ConfigError("VERIFYD_REDIS_URL", problem);
        config.redis = *endpoint;
    }
    load_redis_topology(reader, config.redis);
    config.redis_timeout_ms =
        static_cast<int>(reader.integer("VERIFYD_REDIS_TIMEOUT_MS", 250, 10, 60000));
    config.hash_key = load_hash_key(reader, config);
    if (auto previous = reader.raw("VERIFYD_HASH_KEY_PREVIOUS_FILE")) {
        if (trim(*previous).empty())
            throw ConfigError("VERIFYD_HASH_KEY_PREVIOUS_FILE", "must be a file path when set");
        config.previous_hash_key_file = *previous;
        read_previous_hash_key_file(config.previous_hash_key_file);
    }
    config.idempotency_ttl =
        static_cast<int>(reader.integer("VERIFYD_IDEMPOTENCY_TTL", 86400, 60, 30 * 86400));
    auto keys_file = reader.raw("VERIFYD_API_KEYS_FILE");
    if (!keys_file || keys_file->empty())
        throw ConfigError("VERIFYD_API_KEYS_FILE", "is required: the path of the API keys file");
    config.api_keys_file = *keys_file;
    if (auto policy = reader.raw("VERIFYD_POLICY_FILE")) {
        if (trim(*policy).empty())
            throw ConfigError("VERIFYD_POLICY_FILE", "must be a file path when set");
        config.policy_file = *policy;
    }
    if (auto mode = reader.raw("VERIFYD_FRAUD_GUARD")) {
        auto parsed = parse_guard_mode(*mode);
        if (!parsed) throw ConfigError("VERIFYD_FRAUD_GUARD", "must be on, monitor or off");
        config.fraud_guard = *parsed;
    }
    load_fraud_settings(reader, config.fraud);
    config.code_length = static_cast<int>(reader.integer("VERIFYD_CODE_LENGTH", 6, 4, 10));
    config.code_ttl = static_cast<int>(reader.integer("VERIFYD_CODE_TTL", 600, 1, 86400));
    config.max_attempts = static_cast<int>(reader.integer("VERIFYD_MAX_ATTEMPTS", 5, 1, 100));
    if (auto limits = reader.raw("VERIFYD_SEND_LIMITS")) {
        std::string problem;
        auto windows = parse_send_limits(*limits, problem);
        if (!windows) throw ConfigError("VERIFYD_SEND_LIMITS", problem);
        config.send_limits = *windows;
    }
    config.resend_cooldown =
        static_cast<int>(reader.integer("VERIFYD_RESEND_COOLDOWN", 30, 0, 86400));
    config.expired_grace =
        static_cast<int>(reader.integer("VERIFYD_EXPIRED_GRACE", 86400, 0, 30 * 86400));
    config.key_rpm = static_cast<int>(reader.integer("VERIFYD_KEY_RPM", 6000, 1, 100000000));
    if (auto countries = reader.raw("VERIFYD_ALLOWED_COUNTRIES"))
        config.allowed_countries = parse_countries(*countries);
    if (auto ui = reader.raw("VERIFYD_SANDBOX_UI")) {
        if (*ui != "on" && *ui != "off")
            throw ConfigError("VERIFYD_SANDBOX_UI", "must be on or off");
        config.sandbox_ui = *ui == "on";
    }
    if (auto app_name = reader.raw("VERIFYD_APP_NAME")) {
        if (trim(*app_name).empty() || !is_utf8(*app_name) || utf8_length(*app_name) > 64)
            throw ConfigError("VERIFYD_APP_NAME", "must be 1 to 64 characters of UTF-8 text");
        config.app_name = *app_name;
    }
    load_provider_settings(reader, config);
    load_delivery_settings(reader, config);
    load_events_settings(reader, config);
    config.seal_key = load_seal_key(reader, config);
    if (auto templates = reader.raw("VERIFYD_TEMPLATES_FILE")) {
        if (trim(*templates).empty())
            throw ConfigError("VERIFYD_TEMPLATES_FILE", "must be a file path when set");
        config.templates_file = *templates;
    }
    config.shutdown_delay_ms =
        static_cast<int>(reader.integer("VERIFYD_SHUTDOWN_DELAY_MS", 0, 0, 600000));
    if (auto level = reader.raw("VERIFYD_LOG_LEVEL")) {
        auto parsed = parse_log_level(*level);
        if (!parsed) throw ConfigError("VERIFYD_LOG_LEVEL", "must be debug, info, warn or error");
        config.log_level = *parsed;
    }
    return config;
}

const char* provider_kind_name(ProviderKind kind) {
    switch (kind) {
        case ProviderKind::Log:
            return "log";
        case ProviderKind::Sent:
            return "sent";
        case ProviderKind::Webhook:
            return "webhook";
        case ProviderKind::None:
            break;
    }
    return "none";
}

ApiSettings api_settings(const Config& config) {
    ApiSettings api;
    api.code_length = config.code_length;
    api.code_ttl = config.code_ttl;
    api.max_attempts = config.max_attempts;
    api.allowed_countries = config.allowed_countries;
    api.app_name = config.app_name;
    api.sandbox_ui = config.sandbox_ui;
    api.idempotency_ttl = config.idempotency_ttl;
    api.live_delivery = config.provider != ProviderKind::None;
    api.sent_webhook_key = config.sent_webhook_key;
    api.webhook_secret = config.webhook.secret;
    api.operations_listener = !config.metrics_listen_host.empty();
    api.redis_timeout_ms = config.redis_timeout_ms;
    api.redis_wait_timeout_ms = config.redis.wait_timeout_ms;
    api.fraud = config.fraud;
    return api;
}

ProviderSettings provider_settings(const Config& config) {
    return {config.provider, config.sent, config.webhook, config.delivery.timeout_ms};
}

OutboxSettings outbox_settings(const Config& config) {
    return {config.delivery, provider_settings(config), config.app_name};
}

}  // namespace verifyd
