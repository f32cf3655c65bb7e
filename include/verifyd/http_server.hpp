// The Pistache server that carries Api requests, and the HTTP/1.1 persistence rule
// Pistache 0.0.5 gets wrong. Not for: anything the API decides.
#pragma once

#include <memory>
#include <string>

#include "verifyd/api.hpp"

namespace verifyd {

class HttpServer {
  public:
    HttpServer(Api& api, const std::string& host, int port, int threads);
    ~HttpServer();
    void start();  // returns once listening
    void shutdown();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verifyd
