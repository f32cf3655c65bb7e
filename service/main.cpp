// verifyd's entry point: parses the command line, loads configuration and keys, and
// wires the store, provider, API and HTTP server together. No logic of its own.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "verifyd/api.hpp"
#include "verifyd/config.hpp"
#include "verifyd/credentials.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/http_server.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/log.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/number_key.hpp"
#include "verifyd/outbox.hpp"
#include "verifyd/store.hpp"
#include "verifyd/templates.hpp"
#include "verifyd/text.hpp"

namespace {

const char* kUsage = R"(verifyd — one-time code verification over SMS and WhatsApp

Usage:
  verifyd                      serve the API (configured by VERIFYD_* variables)
  verifyd keygen --account ACCOUNT --mode test|live [--scopes verify:send,verify:check,verify:read]
                               print a new API key and its keys-file entry
  verifyd keygen --hash-key    print a new VERIFYD_HASH_KEY (64 hex characters)
  verifyd --help | --version

Settings (environment): VERIFYD_LISTEN, VERIFYD_THREADS, VERIFYD_REDIS_URL,
VERIFYD_REDIS_TIMEOUT_MS, VERIFYD_HASH_KEY or VERIFYD_HASH_KEY_FILE, VERIFYD_API_KEYS_FILE,
VERIFYD_CODE_LENGTH, VERIFYD_CODE_TTL, VERIFYD_MAX_ATTEMPTS, VERIFYD_SEND_LIMITS,
VERIFYD_RESEND_COOLDOWN, VERIFYD_EXPIRED_GRACE, VERIFYD_KEY_RPM, VERIFYD_ALLOWED_COUNTRIES,
VERIFYD_APP_NAME, VERIFYD_PROVIDER, VERIFYD_SENT_BASE_URL, VERIFYD_SENT_API_KEY,
VERIFYD_SENT_TEMPLATE, VERIFYD_SENT_SENDER_PROFILE_ID, VERIFYD_WEBHOOK_URL,
VERIFYD_WEBHOOK_SECRET, VERIFYD_SEAL_KEY, VERIFYD_TEMPLATES_FILE, VERIFYD_DELIVERY_MAX_ATTEMPTS,
VERIFYD_DELIVERY_TIMEOUT_MS, VERIFYD_DELIVERY_BACKOFF_MS, VERIFYD_DELIVERY_MAX_BACKOFF_MS,
VERIFYD_DELIVERY_CLAIM_IDLE_MS, VERIFYD_DELIVERY_WORKERS, VERIFYD_DELIVERY_CONSUMER,
VERIFYD_LOG_LEVEL, VERIFYD_SHUTDOWN_DELAY_MS, VERIFYD_HASH_KEY_PREVIOUS_FILE,
VERIFYD_IDEMPOTENCY_TTL, VERIFYD_METRICS_LISTEN, VERIFYD_HEADER_TIMEOUT_MS,
VERIFYD_IDLE_TIMEOUT_MS, VERIFYD_MAX_CONNECTIONS.
See README.md.

Exit status: 0 after a clean shutdown, 2 for a bad setting or usage.
)";

int usage_error(const std::string& problem) {
    std::fprintf(stderr, "verifyd: %s\nRun 'verifyd --help' for usage.\n", problem.c_str());
    return 2;
}

int keygen(const std::vector<std::string>& args) {
    std::string account, mode;
    unsigned scopes = verifyd::kAllScopes;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--hash-key") {
            std::printf("%s\n", verifyd::to_hex(verifyd::random_bytes(32)).c_str());
            return 0;
        }
        if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
        const std::string& value = args[++i];
        if (arg == "--account") {
            account = value;
        } else if (arg == "--mode") {
            mode = value;
        } else if (arg == "--scopes") {
            scopes = 0;
            for (const std::string& name : verifyd::split(value, ',')) {
                auto scope = verifyd::scope_from_name(name);
                if (!scope) return usage_error("unknown scope " + name);
                scopes |= *scope;
            }
        } else {
            return usage_error("unknown keygen option " + arg);
        }
    }
    if (account.empty()) return usage_error("keygen needs --account");
    if (mode != "test" && mode != "live") return usage_error("keygen needs --mode test or live");
    auto generated = verifyd::generate_key(account, mode == "live", scopes);
    std::printf("key: %s\nentry: %s\n", generated.key.c_str(), generated.entry_json.c_str());
    return 0;
}

// Loads every setting and file verifyd starts with; false (after saying why) when any
// is missing or malformed.
bool load_startup(verifyd::Config& config, std::unique_ptr<verifyd::Credentials>& credentials,
                  verifyd::Templates& templates) {
    try {
        config = verifyd::load_config(verifyd::process_environment());
        credentials = std::make_unique<verifyd::Credentials>(verifyd::load_credentials(config));
        if (!config.templates_file.empty()) {
            try {
                templates = verifyd::Templates::load_file(config.templates_file);
            } catch (const std::exception& e) {
                throw verifyd::ConfigError("VERIFYD_TEMPLATES_FILE", e.what());
            }
        }
    } catch (const verifyd::ConfigError& e) {
        std::fprintf(stderr, "verifyd: configuration error: %s\n", e.what());
        return false;
    }
    return true;
}

// Re-reads the keys file and the hash key file; a bad new file keeps the old ones.
void reload(const verifyd::Config& config, verifyd::CredentialStore& credentials, const char* why) {
    try {
        auto next = verifyd::reload_credentials(config, *credentials.current());
        size_t key_count = next.keys.size();
        credentials.replace(std::move(next));
        verifyd::log_event(verifyd::LogLevel::Info, "credentials reloaded",
                           {{"why", why}, {"api_keys", key_count}});
    } catch (const std::exception& e) {
        verifyd::log_event(verifyd::LogLevel::Error, "credentials not reloaded; keeping the old",
                           {{"why", why}, {"error", e.what()}});
    }
}

std::string credential_files_fingerprint(const verifyd::Config& config) {
    return verifyd::file_fingerprint(config.api_keys_file) + "|" +
           verifyd::file_fingerprint(config.hash_key_file) + "|" +
           verifyd::file_fingerprint(config.previous_hash_key_file);
}

// Signals are waited for by the main thread only, so they are blocked before any
// thread starts.
sigset_t block_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal_number);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return signals;
}

// The API listener, and the operations listener when VERIFYD_METRICS_LISTEN asks for one.
struct Listeners {
    Listeners(verifyd::Api& api, const verifyd::Config& config, verifyd::Metrics& metrics)
        : api_port(api, {config.listen_host, config.listen_port, config.threads,
                         verifyd::Listener::Api, config.connections, &metrics}) {
        if (!config.metrics_listen_host.empty())
            operations_port = std::make_unique<verifyd::HttpServer>(
                api,
                verifyd::Listening{config.metrics_listen_host, config.metrics_listen_port, 1,
                                   verifyd::Listener::Operations, config.connections, nullptr});
    }

    // False, after saying why, when an address cannot be served.
    bool start(const verifyd::Config& config) {
        return start_one(api_port, listen_address(config)) &&
               (!operations_port || start_one(*operations_port, metrics_address(config)));
    }

    void shutdown() {
        api_port.shutdown();
        if (operations_port) operations_port->shutdown();
    }

    static std::string listen_address(const verifyd::Config& config) {
        return config.listen_host + ":" + std::to_string(config.listen_port);
    }
    static std::string metrics_address(const verifyd::Config& config) {
        if (config.metrics_listen_host.empty()) return "";
        return config.metrics_listen_host + ":" + std::to_string(config.metrics_listen_port);
    }

    verifyd::HttpServer api_port;
    std::unique_ptr<verifyd::HttpServer> operations_port;

  private:
    static bool start_one(verifyd::HttpServer& server, const std::string& address) {
        try {
            server.start();
            return true;
        } catch (const std::exception& e) {
            verifyd::flush_log();
            std::fprintf(stderr, "verifyd: cannot serve on %s: %s\n", address.c_str(), e.what());
            return false;
        }
    }
};

// The main thread's work while verifyd serves, until SIGINT or SIGTERM (returned):
// reloads on SIGHUP and when a credential file changes (mounted secrets change by file
// replacement, which no signal announces: they are looked at once a second), the
// number key every 10 s and after each reload (so that a new hash key gets its sealed
// copy and a Redis that restarted empty gets it back), the outbox gauges every second.
int housekeep_until_stopped(const verifyd::Config& config, verifyd::CredentialStore& credentials,
                            verifyd::Store& store, verifyd::Metrics& metrics,
                            const sigset_t& signals, bool number_key_known) {
    int seconds_to_number_key = number_key_known ? 10 : 0;
    std::string fingerprint = credential_files_fingerprint(config);
    const timespec poll_interval{1, 0};
    while (true) {
        if (seconds_to_number_key-- <= 0)
            seconds_to_number_key = verifyd::refresh_number_key(store, credentials) ? 10 : 0;
        verifyd::refresh_outbox_gauges(store, metrics);
        const int received = sigtimedwait(&signals, nullptr, &poll_interval);
        if (received == SIGINT || received == SIGTERM) return received;
        const char* why = nullptr;
        if (received == SIGHUP)
            why = "SIGHUP";
        else if (credential_files_fingerprint(config) != fingerprint)
            why = "file changed";
        if (why) {
            reload(config, credentials, why);
            fingerprint = credential_files_fingerprint(config);
            seconds_to_number_key = 0;
        }
    }
}

// /readyz fails for the shutdown delay, so that load balancers stop routing here, then
// the requests in flight finish (each is bounded by the Redis timeout, so this wait is
// too) before the listeners close, which drops open connections.
void drain(const verifyd::Config& config, verifyd::Api& api) {
    api.start_draining();
    std::this_thread::sleep_for(std::chrono::milliseconds(config.shutdown_delay_ms));
    const auto give_up = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(4 * config.redis_timeout_ms + 1000);
    while (api.in_flight() > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // A request is counted out once its response is handed to Pistache, whose I/O thread
    // writes it a moment later; closing the listener before then would drop it. (Waiting
    // on the write's promise instead is not safe: Pistache 0.0.5's promises race when
    // one thread attaches a continuation while the I/O thread resolves them.)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

int serve() {
    verifyd::Config config;
    std::unique_ptr<verifyd::Credentials> loaded;
    verifyd::Templates templates;
    if (!load_startup(config, loaded, templates)) return 2;
    verifyd::set_log_level(config.log_level);
    verifyd::CredentialStore credentials(std::move(*loaded));
    const sigset_t signals = block_signals();

    verifyd::Metrics metrics;
    verifyd::Store store(config.redis, config.redis_timeout_ms,
                         {config.send_limits, config.resend_cooldown, config.expired_grace},
                         verifyd::redis_lanes_for(config.threads), &metrics);
    verifyd::Api api(verifyd::api_settings(config), credentials, store, templates, metrics);
    verifyd::Outbox outbox(verifyd::outbox_settings(config), credentials, store, templates,
                           metrics);
    Listeners listeners(api, config, metrics);
    // Before listening, so that a Redis that is up serves from the first request.
    const bool number_key_known = verifyd::refresh_number_key(store, credentials);
    verifyd::refresh_outbox_gauges(store, metrics);
    if (!listeners.start(config)) return 1;
    outbox.start();
    verifyd::log_event(verifyd::LogLevel::Info, "serving",
                       {{"version", VERIFYD_VERSION},
                        {"listen", Listeners::listen_address(config)},
                        {"metrics_listen", Listeners::metrics_address(config)},
                        {"threads", config.threads},
                        {"api_keys", credentials.current()->keys.size()}});

    const int received =
        housekeep_until_stopped(config, credentials, store, metrics, signals, number_key_known);
    verifyd::log_event(verifyd::LogLevel::Info, "shutting down",
                       {{"signal", strsignal(received)}, {"delay_ms", config.shutdown_delay_ms}});
    drain(config, api);
    listeners.shutdown();
    store.stop();
    outbox.stop();
    verifyd::log_event(verifyd::LogLevel::Info, "stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    verifyd::init_crypto();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (!args.empty() && args[0] == "--version") {
        std::printf("verifyd %s\n", VERIFYD_VERSION);
        return 0;
    }
    if (!args.empty() && args[0] == "keygen") return keygen({args.begin() + 1, args.end()});
    if (!args.empty()) return usage_error("unknown argument " + args[0]);
    return serve();
}
