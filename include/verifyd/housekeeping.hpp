// The main thread's work while verifyd serves: re-reading the credentials on SIGHUP and
// when a credential file changes, keeping the number key in Redis, and the outbox
// gauges, until SIGINT or SIGTERM. Not for: what a reload reads (credentials.hpp), the
// number key itself (number_key.hpp), or the shutdown that follows (listeners.hpp).
#pragma once

#include <signal.h>

#include "verifyd/config.hpp"
#include "verifyd/credentials.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/store.hpp"

namespace verifyd {

// The signals housekeep_until_stopped waits for, blocked in this thread and so in every
// thread started after; SIGPIPE ignored. Called before any thread starts, so that no
// other thread takes them.
sigset_t block_signals();

// Housekeeps until SIGINT or SIGTERM, which it returns. `number_key_known`: whether the
// number key was read at start-up.
int housekeep_until_stopped(const Config& config, CredentialStore& credentials, Store& store,
                            Metrics& metrics, const sigset_t& signals, bool number_key_known);

}  // namespace verifyd
