// The main thread's loop while verifyd serves. Not for: serving requests or deliveries,
// which never wait for it.
#include "verifyd/housekeeping.hpp"

#include <string>

#include "verifyd/log.hpp"
#include "verifyd/number_key.hpp"
#include "verifyd/outbox.hpp"

namespace verifyd {
namespace {

// A bad new file keeps the old credentials.
void reload(const Config& config, CredentialStore& credentials, const char* why) {
    try {
        auto next = reload_credentials(config, *credentials.current());
        size_t key_count = next.keys.size();
        credentials.replace(std::move(next));
        log_event(LogLevel::Info, "credentials reloaded", {{"why", why}, {"api_keys", key_count}});
    } catch (const std::exception& e) {
        log_event(LogLevel::Error, "credentials not reloaded; keeping the old",
                  {{"why", why}, {"error", e.what()}});
    }
}

std::string credential_files_fingerprint(const Config& config) {
    return file_fingerprint(config.api_keys_file) + "|" + file_fingerprint(config.hash_key_file) +
           "|" + file_fingerprint(config.previous_hash_key_file) + "|" +
           file_fingerprint(config.policy_file);
}

}  // namespace

sigset_t block_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal_number);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return signals;
}

// Mounted secrets change by file replacement, which no signal announces: the files are
// looked at once a second. The number key is refreshed every 10 s and after each
// reload, so that a new hash key gets its sealed copy and a Redis that restarted empty
// gets it back.
int housekeep_until_stopped(const Config& config, CredentialStore& credentials, Store& store,
                            Metrics& metrics, const sigset_t& signals, bool number_key_known) {
    int seconds_to_number_key = number_key_known ? 10 : 0;
    std::string fingerprint = credential_files_fingerprint(config);
    const timespec poll_interval{1, 0};
    while (true) {
        if (seconds_to_number_key-- <= 0)
            seconds_to_number_key = refresh_number_key(store, credentials) ? 10 : 0;
        refresh_outbox_gauges(store, metrics);
        const int received = sigtimedwait(&signals, nullptr, &poll_interval);
        if (received == SIGINT || received == SIGTERM) return received;
        // Taken before the reload reads the files: a file replaced while it reads them
        // differs from this and is read again at the next look, not missed.
        const std::string now = credential_files_fingerprint(config);
        const char* why = nullptr;
        if (received == SIGHUP)
            why = "SIGHUP";
        else if (now != fingerprint)
            why = "file changed";
        if (why) {
            fingerprint = now;
            reload(config, credentials, why);
            seconds_to_number_key = 0;
        }
    }
}

}  // namespace verifyd
