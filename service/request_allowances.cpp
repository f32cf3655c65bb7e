// RequestAllowances (request_allowances.hpp): a replica's unspent batches of the API
// keys' requests per minute on a Redis Cluster.
#include "verifyd/request_allowances.hpp"

#include <algorithm>

namespace verifyd {

bool RequestAllowances::take(const std::string& key_id, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = by_key_.find(key_id);
    if (found == by_key_.end()) return false;
    Allowance& allowance = found->second;
    if (allowance.left <= 0 || now >= allowance.ends) return false;
    --allowance.left;
    return true;
}

void RequestAllowances::keep(const std::string& key_id, int64_t count, int64_t minute,
                             Clock::time_point ends) {
    if (count <= 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    Allowance& allowance = by_key_[key_id];
    if (minute < allowance.minute) return;
    if (minute > allowance.minute) {
        allowance = {count, minute, ends};
        return;
    }
    allowance.left += count;
    allowance.ends = std::min(allowance.ends, ends);
}

}  // namespace verifyd
