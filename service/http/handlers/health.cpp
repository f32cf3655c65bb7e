// GET /healthz, /readyz and /metrics (§4): no authentication, served on the operations
// listener too. None of them waits for Redis on the HTTP thread: /readyz asks the
// store asynchronously, and /metrics renders what the counters and the background
// gauges hold.
#include "service/http/handlers.hpp"

namespace verifyd {

void healthz(const HttpRequest&, const std::string&, const ExchangePtr& exchange) {
    exchange->reply(exchange->ok(200, {{"status", "ok"}}));
}

void readyz(const HttpRequest&, const std::string&, const ExchangePtr& exchange) {
    if (exchange->services.draining)
        return exchange->refuse(make_unavailable(ErrorCode::InternalError, "Shutting down.", 1));
    if (!exchange->credentials->number_key) return exchange->refuse(number_key_missing());
    exchange->services.store.ping([exchange](Result<bool> answered) {
        exchange->guarded([&] {
            if (!answered.value)
                return exchange->refuse(
                    make_unavailable(ErrorCode::InternalError, "Redis is not reachable.", 1));
            exchange->reply(exchange->ok(200, {{"status", "ready"}}));
        });
    });
}

void metrics(const HttpRequest&, const std::string&, const ExchangePtr& exchange) {
    HttpResponse response;
    response.body = exchange->services.metrics.render();
    response.content_type = "text/plain; version=0.0.4";
    exchange->reply(std::move(response));
}

}  // namespace verifyd
