// Configuration: every VERIFYD_* setting of the contract (§6) in one struct, the parser
// that reads them, and the section of it that each component takes. A missing or
// malformed setting is a ConfigError that names the variable; main turns it into exit
// status 2. Not for: command-line flags.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "verifyd/log.hpp"
#include "verifyd/policy.hpp"

namespace verifyd {

using HashKey = std::array<unsigned char, 32>;

struct SendWindow {
    int count;
    int seconds;
};

struct HostPort {
    std::string host;
    int port = 0;
};

// How to reach Redis, and how much to trust an acknowledged write.
struct RedisEndpoint {
    bool unix_socket = false;
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string path;  // unix socket path
    std::string user;
    std::string password;
    int db = 0;
    // With sentinels the master is whatever they name, and host/port are unused.
    std::vector<HostPort> sentinels;
    std::string master_name;
    std::string sentinel_password;
    // A send is acknowledged only once this many replicas have it (Redis WAIT).
    int wait_replicas = 0;
    int wait_timeout_ms = 200;
    // The partitions of the shared queues and of the keys' tags (redis_keys.hpp).
    int partitions = 256;
    // A Redis Cluster's seed nodes (VERIFYD_REDIS_CLUSTER): when any, the cluster is used
    // instead of host/port and the sentinels, and only user and password are kept of
    // the URL.
    std::vector<HostPort> cluster_seeds;
};

enum class ProviderKind { None, Log, Sent, Webhook };

// The name VERIFYD_PROVIDER gives the kind ("none" for None), as metrics label it.
const char* provider_kind_name(ProviderKind kind);

// The Sent platform's POST /v3/messages (VERIFYD_SENT_*).
struct SentSettings {
    std::string base_url;  // e.g. https://api.sent.dm, without /v3/messages
    std::string api_key;
    std::string template_name = "verify_otp";
    std::string sender_profile_id;  // empty = the account's default routing
};

// A signed POST to an operator's URL (VERIFYD_WEBHOOK_*).
struct WebhookSettings {
    std::string url;
    std::string secret;
};

// The durable outbox of live sends (VERIFYD_DELIVERY_*).
struct DeliverySettings {
    int max_attempts = 8;        // provider calls per channel before the message fails
    int timeout_ms = 5000;       // one provider call, connect included
    int backoff_ms = 500;        // first retry delay; doubles, with jitter
    int max_backoff_ms = 60000;  // retry delay cap (a longer Retry-After is honoured)
    int claim_idle_ms = 30000;   // a job held this long by a silent replica is taken over
    int workers = 2;             // delivery threads per replica
    std::string consumer;        // this replica's name in the consumer group
};

// Verification events (VERIFYD_EVENTS_*): one signed POST per state change to the
// operator's URL, durable and in order per verification. Empty url = none recorded.
struct EventsSettings {
    std::string url;
    std::string secret;          // at least 16 characters; signs like the webhook provider
    int timeout_ms = 5000;       // one POST (VERIFYD_DELIVERY_TIMEOUT_MS)
    int backoff_ms = 500;        // after a failed POST; doubles up to max_backoff_ms
    int max_backoff_ms = 60000;  // (VERIFYD_DELIVERY_BACKOFF_MS, _MAX_BACKOFF_MS)
    std::string replica;         // this replica's name for the dispatcher's lease (its
                                 // VERIFYD_DELIVERY_CONSUMER)
};

// The fraud guard's thresholds (VERIFYD_FRAUD_*, §10.3) and the client limits
// (VERIFYD_CLIENT_*_LIMIT, §10.2); whether the guard runs is the policy's (policy.hpp).
struct FraudSettings {
    int window = 3600;         // seconds of history judged
    int settle_seconds = 120;  // an unapproved send counts as not converted after this
    int min_sends = 20;        // settled sends to a prefix before it is judged (country 5×)
    double min_conversion = 0.2;
    int max_pending = 20;      // unsettled sends to one prefix at once
    int block_seconds = 3600;  // the first pause; repeats within 7 days double it
    std::vector<SendWindow> client_ip_limits{{20, 3600}};
    std::vector<SendWindow> client_id_limits{{10, 3600}};
};

// How long a client may take and how many may be connected (VERIFYD_HEADER_TIMEOUT_MS,
// VERIFYD_IDLE_TIMEOUT_MS, VERIFYD_MAX_CONNECTIONS): a slow or idle client holds a
// socket and its buffers, so neither may hold one for long.
struct ConnectionLimits {
    int header_timeout_ms = 10000;  // a request (headers and body) not complete by then
    int idle_timeout_ms = 60000;    // a kept-alive connection with no request that long
    int max_connections = 10000;    // open at once on the API listener; more are closed
};

struct Config {
    std::string listen_host = "0.0.0.0";
    int listen_port = 8080;
    // VERIFYD_METRICS_LISTEN: a second listener for /metrics, /healthz and /readyz, and
    // then the only one serving /metrics. Empty host = none: the API port serves them.
    std::string metrics_listen_host;
    int metrics_listen_port = 0;
    ConnectionLimits connections;
    int threads = 1;
    RedisEndpoint redis;
    int redis_timeout_ms = 250;
    HashKey hash_key{};
    std::string hash_key_file;  // VERIFYD_HASH_KEY_FILE, re-read on reload; empty = inline
    // VERIFYD_HASH_KEY_PREVIOUS_FILE: the key before the last rotation, re-read on reload;
    // empty = none. The file itself may be absent or empty.
    std::string previous_hash_key_file;
    int idempotency_ttl = 86400;  // seconds a final answer is kept for replay
    std::string api_keys_file;
    // VERIFYD_POLICY_FILE (empty = none: every destination allowed), re-read with the
    // keys file; VERIFYD_FRAUD_GUARD, the mode its default starts from.
    std::string policy_file;
    GuardMode fraud_guard = GuardMode::On;
    FraudSettings fraud;
    int code_length = 6;
    int code_ttl = 600;
    int max_attempts = 5;
    std::vector<SendWindow> send_limits{{5, 600}, {10, 86400}};
    int resend_cooldown = 30;
    int expired_grace = 86400;
    int key_rpm = 6000;
    bool sandbox_ui = true;
    std::set<std::string> allowed_countries;  // empty = all
    std::string app_name = "Verify";
    ProviderKind provider = ProviderKind::None;
    SentSettings sent;
    WebhookSettings webhook;
    DeliverySettings delivery;
    // VERIFYD_SENT_WEBHOOK_SECRET ("whsec_" and base64) decoded: the key Sent signs its
    // receipts with; empty = POST /webhooks/sent refuses every receipt.
    std::string sent_webhook_key;
    EventsSettings events;
    HashKey seal_key{};                  // VERIFYD_SEAL_KEY, or derived from the hash key
    bool seal_key_from_hash_key = true;  // so that a hash key rotation rotates it too
    std::string templates_file;          // VERIFYD_TEMPLATES_FILE; empty = built-in bodies only
    LogLevel log_level = LogLevel::Info;
    // After SIGTERM, how long to go on serving with /readyz failing, so that load
    // balancers stop routing here before the listener closes.
    int shutdown_delay_ms = 0;
};

// Each component takes only its own section of Config, cut by the functions below.

// What a provider needs (make_provider): which one, its own settings, and how long one
// call may take.
struct ProviderSettings {
    ProviderKind kind = ProviderKind::None;
    SentSettings sent;
    WebhookSettings webhook;
    int timeout_ms = 0;  // VERIFYD_DELIVERY_TIMEOUT_MS
};

// What the outbox needs: its own settings, the provider its threads make, and the app
// name its messages carry.
struct OutboxSettings {
    DeliverySettings delivery;
    ProviderSettings provider;
    std::string app_name;
};

// What the HTTP API needs: the sends' defaults and limits, and what it must know of the
// rest of the deployment.
struct ApiSettings {
    int code_length = 0;
    int code_ttl = 0;
    int max_attempts = 0;
    std::set<std::string> allowed_countries;  // empty = all
    std::string app_name;
    bool sandbox_ui = true;  // GET /sandbox, the sandbox inbox page (VERIFYD_SANDBOX_UI)
    int idempotency_ttl = 0;
    bool live_delivery = false;  // a provider is configured
    // The keys receipts are signed with; empty = that receipt endpoint refuses them.
    std::string sent_webhook_key;      // POST /webhooks/sent
    std::string webhook_secret;        // POST /webhooks/delivery (VERIFYD_WEBHOOK_SECRET)
    bool operations_listener = false;  // /metrics is served there only
    // An Idempotency-Key's claim outlasts the store's slowest answer, WAIT included.
    int redis_timeout_ms = 0;
    int redis_wait_timeout_ms = 0;
    FraudSettings fraud;
};

ApiSettings api_settings(const Config& config);
ProviderSettings provider_settings(const Config& config);
OutboxSettings outbox_settings(const Config& config);

class ConfigError : public std::runtime_error {
  public:
    ConfigError(std::string variable, const std::string& problem)
        : std::runtime_error(variable + ": " + problem), variable_(std::move(variable)) {}
    const std::string& variable() const { return variable_; }

  private:
    std::string variable_;
};

// Returns a variable's value, or nothing when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

EnvLookup process_environment();

// Throws ConfigError. Reads VERIFYD_HASH_KEY_FILE through the filesystem.
Config load_config(const EnvLookup& env);

// Parsers shared with tests and tools (service/config_values.cpp); each returns nothing
// (false) and sets `problem` on error.
// "host:port" or "[v6]:port"; a missing port is `default_port`, required when that is 0.
bool parse_host_port(const std::string& text, int default_port, std::string& host, int& port,
                     std::string& problem);
std::optional<RedisEndpoint> parse_redis_url(const std::string& url, std::string& problem);
// Windows as parse_send_limits reads them: "COUNT/SECONDS,COUNT/SECONDS".
std::string format_send_limits(const std::vector<SendWindow>& windows);
std::optional<std::vector<SendWindow>> parse_send_limits(const std::string& text,
                                                         std::string& problem);
std::optional<HashKey> parse_hash_key(const std::string& hex, std::string& problem);
// The hash key held in a file (64 hex characters, surrounding white space allowed).
// Throws ConfigError naming VERIFYD_HASH_KEY_FILE.
HashKey read_hash_key_file(const std::string& path);
// The previous hash key (VERIFYD_HASH_KEY_PREVIOUS_FILE): nothing when the path is
// empty or the file is absent or blank. Throws ConfigError when it holds something else.
std::optional<HashKey> read_previous_hash_key_file(const std::string& path);

}  // namespace verifyd
