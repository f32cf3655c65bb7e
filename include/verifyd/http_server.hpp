// The Pistache server that carries Api requests: the HTTP/1.1 persistence rule
// Pistache 0.0.5 gets wrong, its timeouts for slow and idle clients, and the cap on
// open connections. Not for: anything the API decides.
#pragma once

#include <memory>
#include <string>

#include "verifyd/api.hpp"

namespace verifyd {

struct Listening {
    std::string host;
    int port = 0;
    int threads = 1;
    Listener role = Listener::Api;
    ConnectionLimits limits;
    // Counts the listener's connections and caps them at limits.max_connections; null =
    // neither. The operations listener has none, so that a flood of connections to the
    // API port never blinds the monitoring.
    Metrics* connection_metrics = nullptr;
};

class HttpServer {
  public:
    HttpServer(Api& api, const Listening& listening);
    ~HttpServer();
    void start();  // returns once listening
    void shutdown();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verifyd
