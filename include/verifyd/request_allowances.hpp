// On a Redis Cluster, the API keys' requests per minute that this replica has taken
// from their counters in batches (lua/keys/allowance.lua) and not spent yet, so that most
// requests need no call to the counter's slot of their own. Not for a single Redis or
// Sentinel, where every script call counts its request itself (lua/lib/key_limit.lua).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace verifyd {

class RequestAllowances {
  public:
    using Clock = std::chrono::steady_clock;

    // How many requests a replica asks for at once.
    static constexpr int64_t kBatch = 32;

    // Spends one of the key's requests; false when none is left for the minute.
    bool take(const std::string& key_id, Clock::time_point now = Clock::now());

    // Keeps `count` requests of the key counted in minute `minute` (Redis's clock), for
    // spending until `ends`: the minute's end as seen from here, no later than Redis's.
    // A batch of a later minute replaces what is left of an earlier one, which may no
    // longer be spent; one of an earlier minute is dropped.
    void keep(const std::string& key_id, int64_t count, int64_t minute, Clock::time_point ends);

  private:
    struct Allowance {
        int64_t left = 0;
        int64_t minute = 0;
        Clock::time_point ends;
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Allowance> by_key_;
};

}  // namespace verifyd
