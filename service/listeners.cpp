// Starting and draining the listeners. Not for: the signals that start a shutdown
// (housekeeping.cpp), nor stopping the store and the outbox, which main does after.
#include "verifyd/listeners.hpp"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "verifyd/log.hpp"

namespace verifyd {
namespace {

bool start_one(HttpServer& server, const std::string& address) {
    try {
        server.start();
        return true;
    } catch (const std::exception& e) {
        flush_log();
        std::fprintf(stderr, "verifyd: cannot serve on %s: %s\n", address.c_str(), e.what());
        return false;
    }
}

// Each connection holds two descriptors (Pistache's and its own, connections.hpp). The
// soft limit on open files is raised to the hard one, as the system allows any process;
// a limit that still holds fewer than the connection cap needs is said, not refused:
// connections past it are refused at accept, as past the cap.
void raise_descriptor_limit(int max_connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    // Beside the connections: Redis lanes, the listeners, the log, the provider's calls.
    const rlim_t needed = 2 * static_cast<rlim_t>(max_connections) + 256;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
        log_event(LogLevel::Warn, "the open-file limit holds fewer connections than the cap",
                  {{"open_file_limit", static_cast<uint64_t>(limit.rlim_cur)},
                   {"max_connections", max_connections},
                   {"needed", static_cast<uint64_t>(needed)}});
}

}  // namespace

Listeners::Listeners(Api& api, const Config& config, Metrics& metrics)
    : api_(api),
      config_(config),
      api_port_(api, {config.listen_host, config.listen_port, config.threads, Listener::Api,
                      config.connections, &metrics}) {
    if (!config.metrics_listen_host.empty())
        operations_port_ = std::make_unique<HttpServer>(
            api, Listening{config.metrics_listen_host, config.metrics_listen_port, 1,
                           Listener::Operations, config.connections, nullptr});
}

bool Listeners::start() {
    raise_descriptor_limit(config_.connections.max_connections);
    return start_one(api_port_, listen_address()) &&
           (!operations_port_ || start_one(*operations_port_, metrics_address()));
}

// The wait for requests in flight is bounded because each of them is, by the Redis
// timeout.
void Listeners::drain_and_close() {
    api_.start_draining();
    std::this_thread::sleep_for(std::chrono::milliseconds(config_.shutdown_delay_ms));
    const auto give_up = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(4 * config_.redis_timeout_ms + 1000);
    while (api_.in_flight() > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // A request is counted out once its answer is written, but the part of a large answer
    // that its socket could not take at once is handed to Pistache, whose I/O thread
    // writes it as the client reads; closing the listener at once would drop it. (Waiting
    // on the write's promise instead is not safe: Pistache 0.0.5's promises race when
    // one thread attaches a continuation while the I/O thread resolves them.)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    api_port_.shutdown();
    if (operations_port_) operations_port_->shutdown();
}

std::string Listeners::listen_address() const {
    return config_.listen_host + ":" + std::to_string(config_.listen_port);
}

std::string Listeners::metrics_address() const {
    if (config_.metrics_listen_host.empty()) return "";
    return config_.metrics_listen_host + ":" + std::to_string(config_.metrics_listen_port);
}

}  // namespace verifyd
