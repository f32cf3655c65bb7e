// Items that share script calls by key (a guard slot's decisions, an account's inbox):
// at most one call per key is in flight, and the items that arrive for the key while it
// is wait and go together in the next, in the order they arrived. Under load a call then
// carries many items for the cost of one; an item that finds its key idle goes at once,
// alone. Not for: making the calls (the store), or items whose script cannot take several.
#pragma once

#include <algorithm>
#include <exception>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "verifyd/log.hpp"

namespace verifyd {

template <typename Item>
class CallBatches {
  public:
    explicit CallBatches(size_t most_per_call) : most_per_call_(most_per_call) {}

    // The batch to call now: `item` alone when no call for `key` is in flight (the key is
    // then busy until next() finds nothing waiting), else none and the item waits.
    std::vector<Item> add(const std::string& key, Item item) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto found = waiting_.find(key);
            if (found != waiting_.end()) {
                found->second.push_back(std::move(item));
                return {};
            }
            waiting_.emplace(key, std::vector<Item>{});
        }
        std::vector<Item> batch;
        batch.push_back(std::move(item));
        return batch;
    }

    // Once the call for `key` has answered: the items that arrived meanwhile (at most
    // most_per_call, the others waiting on), to call next; none, and the key is idle.
    std::vector<Item> next(const std::string& key) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = waiting_.find(key);
        if (found == waiting_.end()) return {};
        std::vector<Item>& queue = found->second;
        if (queue.empty()) {
            waiting_.erase(found);
            return {};
        }
        const auto taken = static_cast<std::ptrdiff_t>(std::min(queue.size(), most_per_call_));
        std::vector<Item> batch(std::make_move_iterator(queue.begin()),
                                std::make_move_iterator(queue.begin() + taken));
        queue.erase(queue.begin(), queue.begin() + taken);
        return batch;
    }

  private:
    const size_t most_per_call_;
    std::mutex mutex_;
    // By key, while a call for it is in flight: the items waiting for the next.
    std::unordered_map<std::string, std::vector<Item>> waiting_;
};

// Hands one item of a call its answer: an item whose continuation throws must not keep
// the others of its call from theirs.
template <typename Then, typename Answer>
void answer_item(Then& then, Answer answer) {
    try {
        then(std::move(answer));
    } catch (const std::exception& e) {
        log_event(LogLevel::Error, "batched call's continuation failed", {{"error", e.what()}});
    }
}

}  // namespace verifyd
