// The HTTP API of the contract (§1–§4, §9), independent of the HTTP server: a request
// in, a response out, later. A handler that needs Redis answers once the store calls
// back, on the store's thread, so no HTTP thread waits. The parts live in
// service/http/: the router (router.cpp), one file per route's handler (handlers/),
// a request's lifecycle (exchange.cpp), authentication, the envelopes and the JSON
// views. Not for: sockets or connection handling (http_server) or Redis (store).
#pragma once

#include <memory>

#include "verifyd/config.hpp"
#include "verifyd/credentials.hpp"
#include "verifyd/http.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/store.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

struct ApiServices;

class Api {
  public:
    Api(const ApiSettings& settings, const CredentialStore& credentials, Store& store,
        const Templates& templates, Metrics& metrics);
    ~Api();
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    // From now on /readyz answers 503, so load balancers stop sending new requests
    // while the ones in flight finish.
    void start_draining();
    bool draining() const;
    // Requests being handled right now.
    int in_flight() const;

    void handle(const HttpRequest& request, Respond respond);
    // The answer to bytes that cannot be read as one request (http_framing.hpp): the error
    // envelope with `status` (400 or 413) and `problem`, counted and logged as a refusal.
    HttpResponse refuse_unreadable(int status, const std::string& problem);

  private:
    std::unique_ptr<ApiServices> services_;
};

}  // namespace verifyd
