// The due index's thread: every replica looks, a few times a second, for verifications
// whose time has come (a WhatsApp message's fallback_after_seconds ran out, an expiry or
// a sandbox delivery step to report as an event) and has delivery/due.lua deal with
// each. The index lives in Redis, so a restart or a replica's death loses no timer, and
// the script does nothing twice, so replicas may look at the same verification at once.
// Not for: posting events (events.hpp) or delivering messages (outbox.hpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "verifyd/event_queue.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/store.hpp"

namespace verifyd {

class Timers {
  public:
    // `provider`: the configured provider's name, for the metrics of timer fallbacks.
    Timers(Store& store, const std::string& provider, Metrics& metrics);
    ~Timers();

    void start();
    void stop();

  private:
    void run();
    // Deals with every verification whose time has come; how many there were.
    size_t run_due();
    void pause(int milliseconds);

    EventQueue queue_;
    const std::string provider_;
    Metrics& metrics_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

}  // namespace verifyd
