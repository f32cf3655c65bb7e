// verifyd's listeners from start to shutdown: the API port, the operations port when
// VERIFYD_METRICS_LISTEN asks for one, and the drain that ends them. Not for: connection
// handling (http_server.hpp) or what the API answers (api.hpp).
#pragma once

#include <memory>
#include <string>

#include "verifyd/api.hpp"
#include "verifyd/config.hpp"
#include "verifyd/http_server.hpp"
#include "verifyd/metrics.hpp"

namespace verifyd {

class Listeners {
  public:
    Listeners(Api& api, const Config& config, Metrics& metrics);

    // False, after saying why, when an address cannot be served.
    bool start();
    // The shutdown: /readyz fails for VERIFYD_SHUTDOWN_DELAY_MS, so that load balancers
    // stop routing here, then the requests in flight finish before the listeners close,
    // which drops open connections.
    void drain_and_close();

    std::string listen_address() const;
    // Empty without an operations port.
    std::string metrics_address() const;

  private:
    Api& api_;
    const Config& config_;
    HttpServer api_port_;
    std::unique_ptr<HttpServer> operations_port_;
};

}  // namespace verifyd
