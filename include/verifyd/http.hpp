// What passes between the HTTP server and the API: a request in, a response out, and
// the listener it came in on. Not for: routing or envelopes (api.hpp), sockets
// (http_server.hpp).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
    // A header's value by name; a request made without its headers has none.
    std::function<std::optional<std::string>(const std::string& name)> header =
        [](const std::string&) { return std::optional<std::string>(); };
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

// The largest request body the API reads; a larger one answers 413.
constexpr size_t kMaxBodyBytes = 16 * 1024;

}  // namespace verifyd
