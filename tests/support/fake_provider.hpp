// A stand-in for the Sent platform's POST /v3/messages and for an operator's webhook
// receiver, for the delivery tests: an HTTP/1.1 server on 127.0.0.1 (a port the kernel
// picks) that records every request it reads and answers it by a programmable script.
// It keeps the Sent API's idempotency rules (§7): the first final answer (2xx, or a 4xx
// other than 429) to an Idempotency-Key is replayed to every later request with that key,
// while 429, 5xx and requests left unanswered do not count, nor do 408 and 409, which say
// the request was not carried out; a request whose key is still in progress answers 409. It counts
// executions (2xx answers that were not replays) per key, so a test can say "delivered exactly
// once". Every wait is bounded; every accessor is thread-safe. Not for: TLS, HTTP pipelining, or
// acting as any other API.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace verifyd_test {

// One answer in the script.
struct Reply {
    int status = 200;
    std::string body;  // empty with a 2xx: the Sent-like success body with a new id
    Headers headers;
    bool hold = false;  // wait for release() (or hold_for, or the client going away)
    std::optional<std::chrono::milliseconds> hold_for;
    bool answer_after_hold = false;  // after a hold, answer; otherwise close unanswered

    // {"success":true,"data":{"id":"sent_<n>","status":"QUEUED"}} with 200.
    static Reply ok();
    // A Sent error: {"success":false,"error":{"code":code,"message":message}}.
    static Reply sent_error(int status, const std::string& code, const std::string& message);
    // A 5xx (a Sent error body with code INTERNAL_ERROR).
    static Reply server_error(int status = 500);
    // 429 with Retry-After: seconds.
    static Reply too_many_requests(int retry_after_seconds);
    // Reads the request and never answers: the connection is closed after release(),
    // after `limit`, or when the client gives up.
    static Reply hang(std::optional<std::chrono::milliseconds> limit = std::nullopt);
    // Holds the request until release() (or `limit`), then answers `then`.
    static Reply held(Reply then, std::optional<std::chrono::milliseconds> limit = std::nullopt);
};

// One request as the fake read it.
struct RecordedRequest {
    std::string method;
    std::string target;
    std::string version;
    Headers headers;
    std::string body;
    nlohmann::json json;  // the body parsed, discarded when it is not JSON
    std::chrono::steady_clock::time_point received;
    int64_t received_unix = 0;
    int answered_status = 0;  // 0 while unanswered, and for a hang
    std::string answered_body;
    bool replayed = false;  // answered with the key's stored final answer
    bool executed = false;  // a 2xx that was not a replay: a delivery

    std::optional<std::string> header(const std::string& name) const;
    std::string idempotency_key() const;
    // The message id a Sent-like success answer gave (data.id), or empty.
    std::string provider_message_id() const;
    // "sms" or "whatsapp": channel[0] of a Sent body, or channel of a webhook event.
    std::string channel() const;
    // template.parameters.code (Sent) or template.variables.code (webhook), or empty.
    std::string code() const;
};

class FakeProvider {
  public:
    // Listens at once; throws std::runtime_error when it cannot.
    FakeProvider();
    // Releases every held request, closes every connection and joins every thread.
    ~FakeProvider();
    FakeProvider(const FakeProvider&) = delete;
    FakeProvider& operator=(const FakeProvider&) = delete;

    int port() const { return port_; }
    // "http://127.0.0.1:<port>", the VERIFYD_SENT_BASE_URL.
    std::string base_url() const;
    // base_url() + path, e.g. a webhook URL.
    std::string url(const std::string& path) const;

    // The script. A request with a key that has a stored final answer gets that answer.
    // Otherwise the first queued reply for its channel (or for any channel) is used up;
    // then the channel's standing reply; then the default (Reply::ok() at first).
    void set_default(Reply reply);
    void set_channel(const std::string& channel, Reply reply);
    void clear_channel(const std::string& channel);
    // Queues `count` copies of `reply`, for requests on `channel` (empty: any channel).
    void queue(Reply reply, int count = 1, const std::string& channel = {});
    // Ends every current hold: held requests are answered or closed as scripted.
    void release();

    // Copies of every request read so far, in order.
    std::vector<RecordedRequest> requests() const;
    size_t request_count() const;
    // Requests carrying this Idempotency-Key.
    std::vector<RecordedRequest> requests_with_key(const std::string& key) const;
    // Executions (fresh 2xx answers) of this key, and of every key that had one.
    int executions(const std::string& key) const;
    std::map<std::string, int> executions() const;
    // How many requests are being held now.
    int held_now() const;

    // Waits until `ready(requests)` holds, at most `timeout`; returns whether it did.
    bool wait_for(const std::function<bool(const std::vector<RecordedRequest>&)>& ready,
                  std::chrono::milliseconds timeout) const;
    bool wait_for_requests(size_t count, std::chrono::milliseconds timeout) const;
    // Until this key has `count` executions.
    bool wait_for_executions(const std::string& key, int count,
                             std::chrono::milliseconds timeout) const;
    // Until `count` distinct keys have been executed.
    bool wait_for_executed_keys(size_t count, std::chrono::milliseconds timeout) const;
    bool wait_for_held(int count, std::chrono::milliseconds timeout) const;

    // Like the Sent platform, posts a signed status webhook (sent_status_event with
    // `message_status`) to verifyd on `port` for every message it accepts, the moment it
    // has answered. The statuses verifyd answered are kept, in order.
    void post_receipts_to(int port, const std::string& whsec_secret,
                          const std::string& message_status);
    std::vector<int> receipt_answers() const;

    // A webhook receiver's check, made here with libsodium rather than verifyd's code:
    // X-Verifyd-Signature is "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", and t
    // is within `tolerance_seconds` of now.
    static bool signature_valid(const std::string& secret, const std::string& header,
                                const std::string& body, int tolerance_seconds = 300);
    static std::string hmac_sha256_hex(const std::string& key, const std::string& message);

  private:
    struct Connection {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    struct Queued {
        Reply reply;
        std::string channel;
    };

    void accept_loop();
    void serve(int fd);
    Reply choose_locked(const std::string& channel);
    void reap_connections(bool all);
    void post_receipt_for(size_t index);

    struct Receipts {
        int port;
        std::string whsec_secret;
        std::string message_status;
    };

    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex connections_mutex_;
    std::vector<Connection> connections_;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    Reply default_reply_ = Reply::ok();
    std::map<std::string, Reply> channel_replies_;
    std::deque<Queued> queued_;
    std::vector<RecordedRequest> requests_;
    std::map<std::string, Reply> final_answers_;  // by Idempotency-Key
    std::map<std::string, int> in_progress_;      // keys of requests being decided
    std::map<std::string, int> executions_;
    uint64_t release_generation_ = 0;
    int held_ = 0;
    int next_id_ = 1;
    std::optional<Receipts> receipts_;
    std::vector<int> receipt_answers_;
};

}  // namespace verifyd_test
