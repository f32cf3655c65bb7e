// verifyd's entry point: parses the command line, loads configuration and keys, and
// wires the store, provider, API and HTTP server together. No logic of its own.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "verifyd/api.hpp"
#include "verifyd/config.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/http_server.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/outbox.hpp"
#include "verifyd/store.hpp"

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
VERIFYD_DELIVERY_CLAIM_IDLE_MS, VERIFYD_DELIVERY_WORKERS, VERIFYD_DELIVERY_CONSUMER.
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
            size_t start = 0;
            while (start <= value.size()) {
                size_t end = value.find(',', start);
                if (end == std::string::npos) end = value.size();
                auto scope = verifyd::scope_from_name(value.substr(start, end - start));
                if (!scope) return usage_error("unknown scope " + value.substr(start, end - start));
                scopes |= *scope;
                start = end + 1;
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

int serve() {
    verifyd::Config config;
    verifyd::KeyRing keys;
    verifyd::Templates templates;
    try {
        config = verifyd::load_config(verifyd::process_environment());
    } catch (const verifyd::ConfigError& e) {
        std::fprintf(stderr, "verifyd: configuration error: %s\n", e.what());
        return 2;
    }
    try {
        keys = verifyd::KeyRing::load_file(config.api_keys_file, config.key_rpm);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "verifyd: configuration error: VERIFYD_API_KEYS_FILE: %s\n", e.what());
        return 2;
    }

    // Signals are waited for by this thread only, so block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    verifyd::Metrics metrics;
    verifyd::Store store(config.redis, config.redis_timeout_ms,
                         {config.send_limits, config.resend_cooldown, config.expired_grace},
                         &metrics);
    verifyd::Api api(config, keys, store, templates, metrics);
    verifyd::Outbox outbox(config, store, templates, metrics);
    verifyd::HttpServer server(api, config.listen_host, config.listen_port, config.threads);
    try {
        server.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "verifyd: cannot serve on %s:%d: %s\n", config.listen_host.c_str(),
                     config.listen_port, e.what());
        return 1;
    }
    outbox.start();
    std::fprintf(stderr, "verifyd %s: serving on %s:%d with %d threads, %zu API keys\n",
                 VERIFYD_VERSION, config.listen_host.c_str(), config.listen_port, config.threads,
                 keys.size());

    int received = 0;
    sigwait(&signals, &received);
    std::fprintf(stderr, "verifyd: %s received, shutting down\n", strsignal(received));
    server.shutdown();
    outbox.stop();
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
