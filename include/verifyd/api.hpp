// The HTTP API of the contract (§1–§4), independent of the HTTP server: a request in,
// a response out, later: a handler that needs Redis answers once the store calls back,
// on the store's thread, so no HTTP thread waits. Routing, authentication, validation,
// and the envelopes live here. Not for: sockets or connection handling (http_server)
// or Redis (store).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/credentials.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/phone.hpp"
#include "verifyd/store.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

// Which of verifyd's listeners a request came in on: the API port, or the operations
// port of VERIFYD_METRICS_LISTEN (health and metrics only).
enum class Listener { Api, Operations };

// Read only while Api::handle runs: what a later step needs is copied.
struct HttpRequest {
    Listener listener = Listener::Api;
    std::string method;
    std::string path;  // without the query
    std::vector<std::pair<std::string, std::string>> query;
    std::function<std::optional<std::string>(const std::string& name)> header;
    std::string body;
};

struct HttpResponse {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, on any thread.
using Respond = std::function<void(HttpResponse)>;

constexpr size_t kMaxBodyBytes = 16 * 1024;

class Api {
  public:
    Api(const Config& config, const CredentialStore& credentials, Store& store,
        const Templates& templates, Metrics& metrics);

    // From now on /readyz answers 503, so load balancers stop sending new requests
    // while the ones in flight finish.
    void start_draining() { draining_ = true; }
    bool draining() const { return draining_; }
    // Requests being handled right now.
    int in_flight() const { return in_flight_; }

    void handle(const HttpRequest& request, Respond respond);

  private:
    struct Context;
    using ContextPtr = std::shared_ptr<Context>;
    struct Route;
    static const std::vector<Route>& routes();
    std::optional<ApiError> authenticate(const HttpRequest& request, unsigned scope,
                                         Context& context);
    void route(const HttpRequest& request, const ContextPtr& context);
    bool served_on(const Route& route, Listener listener) const;
    // Runs a step of a request; an exception in it answers 500.
    template <typename Step>
    void guarded(const ContextPtr& context, Step&& step);
    // The response of a handler, once the request has been counted against the key's
    // limit (a request no store call counted, such as an invalid one, is counted here).
    void reply(const ContextPtr& context, HttpResponse response);
    // reply() with the error response for `error`.
    void refuse(const ContextPtr& context, ApiError error);
    // refuse(), once a final refusal of a request with an Idempotency-Key is recorded
    // (or the one recorded for it earlier is found: that one is the answer).
    void refuse_final(const ContextPtr& context, ApiError error);
    // The refusal recorded for an Idempotency-Key, replayed.
    void replay_refusal(const ContextPtr& context, const std::string& recorded);
    // Runs `step(const Idempotency*)` with the request's Idempotency-Key claimed, or
    // with null when it has none.
    template <typename Step>
    void idempotently(const ContextPtr& context, Step step);
    // The tag of a number in the caller's account and mode; nothing until the number
    // key is known.
    std::optional<std::string> tag_for(const Context& context, const std::string& number) const;
    int claim_lease_ms() const;
    // Headers, metrics and the access log, then the response goes out.
    void finish(const ContextPtr& context, HttpResponse response);
    // The continuation of a store call: its error is the response, or else `success`
    // makes one from its value.
    // `success` is called as HttpResponse(Context&, const T&).
    template <typename T, typename Success>
    Then<T> respond_with(const ContextPtr& context, Success success);
    // The store, for a call whose script counts the request against the key's limit.
    Store& counting(Context& context);
    void send(const HttpRequest& request, const ContextPtr& context);
    void check(const HttpRequest& request, const ContextPtr& context);
    void check_code(const ContextPtr& context, const RecordRef& ref, const std::string& code,
                    const Idempotency* idempotency);
    // The query's mode (`?sandbox=true`) for a request naming a record by id, or the
    // query's problem.
    std::optional<ApiError> read_mode(const HttpRequest& request, Context& context);
    void get_verification(const HttpRequest& request, const std::string& id,
                          const ContextPtr& context);
    void cancel(const HttpRequest& request, const std::string& id, const ContextPtr& context);
    void get_message(const HttpRequest& request, const std::string& id, const ContextPtr& context);
    void list_messages(const HttpRequest& request, const ContextPtr& context);
    void readyz(const ContextPtr& context);
    void metrics(const ContextPtr& context);

    const Config& config_;
    const CredentialStore& credentials_;
    Store& store_;
    const Templates& templates_;
    Metrics& metrics_;
    PhoneValidator phones_;
    std::atomic<bool> draining_{false};
    std::atomic<int> in_flight_{0};
};

}  // namespace verifyd
