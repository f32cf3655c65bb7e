// The due index's thread: every replica looks, a few times a second, for verifications
// whose time has come (a WhatsApp message's fallback_after_seconds ran out, an expiry or
// a sandbox delivery step to report as an event) and has delivery/due.lua deal with
// each. The index lives in Redis, so a restart or a replica's death loses no timer, and
// the script does nothing twice, so replicas may look at the same verification at once.
// The same thread ends the fraud guard's pauses whose time has come (guard/resume.lua,
// found in the pause index), so that each end is logged on time, and gauges the pauses
// in force. Not for: posting events (events.hpp) or delivering messages (outbox.hpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "verifyd/credentials.hpp"
#include "verifyd/event_queue.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/store.hpp"

namespace verifyd {

class Timers {
  public:
    // `provider`: the configured provider's name, for the metrics of timer fallbacks.
    Timers(Store& store, const std::string& provider, Metrics& metrics,
           const CredentialStore& credentials);
    ~Timers();

    void start();
    void stop();

  private:
    void run();
    // Deals with every verification whose time has come; how many there were.
    size_t run_due();
    // Ends the pauses whose time has come, and gauges those in force.
    void resume_pauses();
    void pause(int milliseconds);

    Store& store_;
    EventQueue queue_;
    const std::string provider_;
    Metrics& metrics_;
    const CredentialStore& credentials_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

}  // namespace verifyd
