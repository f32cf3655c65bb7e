// verifyd's entry point: parses the command line, loads configuration and keys, and
// wires the store, outbox, API and listeners together. No logic of its own: keygen is
// keygen_command.hpp's, the main thread's loop while serving housekeeping.hpp's, the
// shutdown's drain listeners.hpp's.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "verifyd/api.hpp"
#include "verifyd/config.hpp"
#include "verifyd/credentials.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/events.hpp"
#include "verifyd/housekeeping.hpp"
#include "verifyd/keygen_command.hpp"
#include "verifyd/listeners.hpp"
#include "verifyd/log.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/number_key.hpp"
#include "verifyd/outbox.hpp"
#include "verifyd/store.hpp"
#include "verifyd/templates.hpp"
#include "verifyd/timers.hpp"

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
VERIFYD_IDLE_TIMEOUT_MS, VERIFYD_MAX_CONNECTIONS, VERIFYD_SENT_WEBHOOK_SECRET,
VERIFYD_EVENTS_URL, VERIFYD_EVENTS_SECRET.
See README.md.

Exit status: 0 after a clean shutdown, 2 for a bad setting or usage.
)";

int usage_error(const std::string& problem) {
    std::fprintf(stderr, "verifyd: %s\nRun 'verifyd --help' for usage.\n", problem.c_str());
    return 2;
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

int serve() {
    verifyd::Config config;
    std::unique_ptr<verifyd::Credentials> loaded;
    verifyd::Templates templates;
    if (!load_startup(config, loaded, templates)) return 2;
    verifyd::set_log_level(config.log_level);
    verifyd::CredentialStore credentials(std::move(*loaded));
    const sigset_t signals = verifyd::block_signals();

    verifyd::Metrics metrics;
    verifyd::Store store(config.redis, config.redis_timeout_ms,
                         {config.send_limits, config.resend_cooldown, config.expired_grace,
                          !config.events.url.empty(), verifyd::pack_guard_settings(config.fraud)},
                         verifyd::redis_lanes_for(config.threads), &metrics);
    verifyd::Api api(verifyd::api_settings(config), credentials, store, templates, metrics);
    verifyd::Outbox outbox(verifyd::outbox_settings(config), credentials, store, templates,
                           metrics);
    verifyd::Timers timers(store, verifyd::provider_kind_name(config.provider), metrics,
                           credentials);
    verifyd::EventDispatcher events(config.events, store, templates, config.app_name, metrics);
    verifyd::Listeners listeners(api, config, metrics);
    // Before listening, so that a Redis that is up serves from the first request.
    const bool number_key_known = verifyd::read_number_key_at_start(store, credentials);
    verifyd::refresh_outbox_gauges(store, metrics);
    if (!listeners.start()) return 1;
    outbox.start();
    timers.start();
    events.start();
    verifyd::log_event(verifyd::LogLevel::Info, "serving",
                       {{"version", VERIFYD_VERSION},
                        {"listen", listeners.listen_address()},
                        {"metrics_listen", listeners.metrics_address()},
                        {"threads", config.threads},
                        {"api_keys", credentials.current()->keys.size()}});

    const int received = verifyd::housekeep_until_stopped(config, credentials, store, metrics,
                                                          signals, number_key_known);
    verifyd::log_event(verifyd::LogLevel::Info, "shutting down",
                       {{"signal", strsignal(received)}, {"delay_ms", config.shutdown_delay_ms}});
    listeners.drain_and_close();
    store.stop();
    outbox.stop();
    timers.stop();
    events.stop();
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
    if (!args.empty() && args[0] == "keygen") {
        try {
            verifyd::keygen_command({args.begin() + 1, args.end()});
            return 0;
        } catch (const verifyd::UsageError& e) {
            return usage_error(e.what());
        }
    }
    if (!args.empty()) return usage_error("unknown argument " + args[0]);
    return serve();
}
