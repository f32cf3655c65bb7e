// Prometheus metrics, kept in lock-free counters and rendered in the text exposition
// format by hand (no Debian package provides a C++ client). Not for: per-request logs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "verifyd/errors.hpp"

namespace verifyd {

class Metrics {
  public:
    void observe_request(const std::string& route, int http_status, double seconds);
    void count_error(ErrorCode code);
    void count_redis_error();
    void count_send(bool sandbox, const std::string& channel);
    std::string render() const;

    static constexpr std::array<double, 12> kLatencyBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  private:
    struct RouteStats {
        std::array<uint64_t, kLatencyBuckets.size()> buckets{};
        uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, RouteStats> latency_;
    std::map<int, uint64_t> errors_;
    std::map<std::pair<bool, std::string>, uint64_t> sends_;
    std::atomic<uint64_t> redis_errors_{0};
};

}  // namespace verifyd
