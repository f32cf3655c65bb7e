// Login traffic for tests that change Redis under verifyd's feet (a Sentinel failover,
// a Redis Cluster's failover or resharding): a thread of sandbox sends and checks that
// records what was acknowledged and every answer such a change does not excuse, and the
// checks afterwards that nothing acknowledged was lost. Not for: staging the change
// (sentinel_cluster.hpp, redis_cluster.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

namespace verifyd_test {

// Whether `response` is the 503 / 5000 with retry_after that a request may get while
// Redis is switching masters or moving slots.
bool is_unavailable(const HttpResponse& response);

// Runs `request` again while it answers 503 / 5000, for at most 3 s: after a failover an
// HTTP worker's first request may find its connection to the old master gone.
HttpResponse retrying(const std::function<HttpResponse()>& request, size_t& retries);

// A whole verification: send, read the sandbox code, approve. With `retry_unavailable`
// each step is retried while it answers 503 (see retrying), as a client told to retry
// does: after a failover, or when a replica is slow to acknowledge a write that must
// reach it (VERIFYD_REDIS_WAIT_REPLICAS) on a loaded machine.
void require_round_trip(VerifydInstance& v, const std::string& to, bool retry_unavailable = false);

// Sandbox sends (one number each), and reads and checks of half of them, from a thread of
// its own, as login flows would go on during a failover. It records every acknowledged verification
// and every answer a failover does not excuse: anything but the success status or
// 503 / 5000 with retry_after, or no answer at all. No Catch2 macros run on its thread.
class Traffic {
  public:
    struct Acknowledged {
        std::string id;
        std::chrono::steady_clock::time_point at;
        // Whether a check was sent, and whether it answered "approved" (else it answered
        // 503, and may or may not have been applied).
        bool check_tried = false;
        bool approved = false;
    };

    // `port`: another replica of `v` to send to (0: `v` itself).
    Traffic(const VerifydInstance& v, std::string api_key, int first_number, int port = 0)
        : v_(v), key_(std::move(api_key)), first_number_(first_number), port_(port) {
        thread_ = std::thread([this] { run(); });
    }
    ~Traffic() { stop(); }
    Traffic(const Traffic&) = delete;
    Traffic& operator=(const Traffic&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    std::vector<Acknowledged> acknowledged() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return acknowledged_;
    }
    std::vector<std::string> unexpected() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return unexpected_;
    }
    size_t unavailable() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return unavailable_;
    }
    size_t acknowledged_since(std::chrono::steady_clock::time_point since) const {
        std::lock_guard<std::mutex> lock(mutex_);
        size_t count = 0;
        for (const auto& sent : acknowledged_) {
            count += sent.at >= since ? 1 : 0;
        }
        return count;
    }
    // Polls until `count` sends were acknowledged at or after `since`, within `timeout`.
    bool wait_for_acknowledged(size_t count, std::chrono::steady_clock::time_point since,
                               std::chrono::steady_clock::duration timeout) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (acknowledged_since(since) < count) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }

  private:
    enum class Outcome { Success, Unavailable, Unexpected };

    HttpClient new_client() const {
        return port_ != 0 ? HttpClient(port_, std::chrono::seconds(5))
                          : v_.client(std::chrono::seconds(5));
    }

    Outcome judge(const std::string& what, const HttpResponse& response, int success) {
        if (response.status == success) {
            return Outcome::Success;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (is_unavailable(response)) {
            ++unavailable_;
            return Outcome::Unavailable;
        }
        unexpected_.push_back(what + " answered " + std::to_string(response.status) + " " +
                              response.body);
        return Outcome::Unexpected;
    }

    void run() {
        HttpClient client = new_client();
        for (int i = 0; !stop_; ++i) {
            try {
                step(client, i);
            } catch (const std::exception& e) {
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    unexpected_.push_back(std::string("request failed: ") + e.what());
                }
                client = new_client();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
        }
    }

    // One send; then the oldest verification waiting for its check, once it is half a
    // second old, so that checks go on while sends cannot be acknowledged.
    void step(HttpClient& client, int i) {
        const std::string to = us_number(first_number_ + i);
        HttpResponse sent = post_json(client, "/verify/send", key_, {{"to", to}});
        if (judge("send to " + to, sent, 201) == Outcome::Success) {
            const std::string id = sent.json()["data"]["id"];
            std::lock_guard<std::mutex> lock(mutex_);
            acknowledged_.push_back({id, std::chrono::steady_clock::now(), false, false});
            if (i % 2 == 0) {
                to_check_.push_back(acknowledged_.size() - 1);
            }
        }
        check_oldest(client);
    }

    // Reads the code of the oldest verification waiting and checks it; one that cannot be
    // read for a 503 waits for the next step.
    void check_oldest(HttpClient& client) {
        std::string id;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (to_check_.empty() ||
                std::chrono::steady_clock::now() - acknowledged_[to_check_.front()].at <
                    std::chrono::milliseconds(500)) {
                return;
            }
            id = acknowledged_[to_check_.front()].id;
        }
        HttpResponse read = client.get("/verify/" + id, bearer(key_));
        const Outcome outcome = judge("GET /verify/" + id, read, 200);
        if (outcome == Outcome::Unavailable) {
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            acknowledged_[to_check_.front()].check_tried = outcome == Outcome::Success;
            to_check_.pop_front();
        }
        if (outcome != Outcome::Success) {
            return;
        }
        const std::string code = read.json()["data"]["template_variables"]["code"];
        HttpResponse checked =
            post_json(client, "/verify/check", key_, {{"id", id}, {"code", code}});
        if (judge("check of " + id, checked, 200) != Outcome::Success) {
            return;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (checked.json()["data"].value("status", "") == "approved") {
            for (auto& sent : acknowledged_) {
                sent.approved = sent.approved || sent.id == id;
            }
        } else {
            unexpected_.push_back("the right code of " + id + " answered " + checked.body);
        }
    }

    const VerifydInstance& v_;
    const std::string key_;
    const int first_number_;
    const int port_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::vector<Acknowledged> acknowledged_;
    std::deque<size_t> to_check_;  // indexes into acknowledged_, oldest first
    std::vector<std::string> unexpected_;
    size_t unavailable_ = 0;
    std::thread thread_;
};

// Every verification the traffic had acknowledged is still there: GET answers 200; one
// whose check answered "approved" is still approved (§4: a spent verification stays
// spent, or its code would approve it twice); one whose check answered 503 is approved
// or pending; one never checked is pending and approved by its sandbox code. Requests
// that find a connection to the old master are retried while they answer 503.
void require_acknowledged_kept(VerifydInstance& v, const Traffic& traffic);

// Nothing but 503 / 5000 with retry_after, and verifyd still runs.
void require_only_unavailable(VerifydInstance& v, const Traffic& traffic);

}  // namespace verifyd_test
