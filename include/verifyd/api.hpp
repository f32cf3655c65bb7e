// The HTTP API of the contract (§1–§4), independent of the HTTP server: a request in,
// a response out. Routing, authentication, validation, and the envelopes live here.
// Not for: sockets or connection handling (http_server) or Redis (store).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
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

struct HttpRequest {
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

    HttpResponse handle(const HttpRequest& request);

  private:
    struct Context;
    std::optional<ApiError> authenticate(const HttpRequest& request, unsigned scope,
                                         Context& context);
    HttpResponse route(const HttpRequest& request, Context& context);
    // The store, for a call whose script counts the request against the key's limit.
    Store& counting(Context& context);
    HttpResponse send(const HttpRequest& request, Context& context);
    HttpResponse check(const HttpRequest& request, Context& context);
    HttpResponse get_verification(const std::string& id, Context& context);
    HttpResponse cancel(const std::string& id, Context& context);
    HttpResponse get_message(const std::string& id, Context& context);
    HttpResponse list_messages(const HttpRequest& request, Context& context);
    HttpResponse readyz(Context& context);

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
