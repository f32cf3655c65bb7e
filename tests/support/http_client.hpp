// A minimal HTTP/1.1 client over a raw TCP socket to 127.0.0.1, for tests that must see
// exactly what goes over the wire: it adds only Host and Content-Length (never a
// Connection header unless the caller passes one), keeps the connection open between
// requests and counts the connections it opened, so a test can tell whether the server
// kept a connection alive or closed it. Every read and write has a deadline.
// With VERIFYD_TEST_EXCHANGES=DIR set, every answer it reads is appended to
// DIR/exchanges-<pid>.jsonl as one JSON line (method, path without the query, status,
// content type, body), which tests/openapi/answers.mjs validates against docs/openapi.json
// (the requests verifyd makes to the tests' stand-ins too: record_request_of_verifyd).
// Not for: TLS, redirects, other hosts, or production use.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace verifyd_test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A failure to connect, send or read a whole response in time.
class HttpError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct HttpResponse {
    std::string version;  // "HTTP/1.1"
    int status = 0;
    std::string reason;
    Headers headers;  // in the order received, names as sent
    std::string body;

    // The first header of that name, compared case-insensitively.
    std::optional<std::string> header(const std::string& name) const;
    // Every value of that header.
    std::vector<std::string> header_values(const std::string& name) const;
    // The body parsed as JSON; a discarded value when it is not JSON.
    nlohmann::json json() const;
};

// Records, beside the answers, a request verifyd itself made to a test's stand-in (an
// event, or the webhook provider's message), as {"request": true, method, path, body}.
void record_request_of_verifyd(const std::string& method, const std::string& target,
                               const std::string& body);

// Answers from `port` are not verifyd's (a test's stand-in for a provider listens there)
// and are not recorded in VERIFYD_TEST_EXCHANGES until record_exchanges_of(port).
void skip_exchanges_of(int port);
void record_exchanges_of(int port);

class HttpClient {
  public:
    explicit HttpClient(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~HttpClient();
    HttpClient(HttpClient&& other) noexcept;
    HttpClient& operator=(HttpClient&& other) noexcept;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends one request on the open connection (or a new one) and reads its response.
    // Content-Length is added when there is a body or the method is POST, PUT or PATCH.
    // A connection the last response ended is replaced; a reused one the server closed
    // without answering is replaced once, as browsers do.
    HttpResponse request(const std::string& method, const std::string& target,
                         const Headers& headers = {}, const std::string& body = {},
                         const std::string& version = "HTTP/1.1");
    HttpResponse get(const std::string& target, const Headers& headers = {});
    HttpResponse post(const std::string& target, const Headers& headers, const std::string& body);
    // Writes `bytes` as they are (after connecting if needed), then reads one response.
    HttpResponse send_raw(const std::string& bytes);

    // True when the server closes (or resets) the connection within `wait`; false when it
    // stays open that long. A client that has no connection counts as closed.
    bool closed_by_server(std::chrono::milliseconds wait = std::chrono::milliseconds(1000));
    // How many TCP connections this client has opened.
    int connections_opened() const { return connections_opened_; }
    void close();

  private:
    void connect();
    bool peer_closed();
    void write_all(const std::string& bytes, std::chrono::steady_clock::time_point deadline);
    // Reads more bytes into buffer_; false on EOF.
    bool read_more(std::chrono::steady_clock::time_point deadline);
    HttpResponse read_response(const std::string& method);
    HttpResponse exchange(const std::string& method, const std::string& target,
                          const std::string& bytes);
    HttpResponse exchange_once(const std::string& method, const std::string& bytes);

    int port_;
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    int connections_opened_ = 0;
    // The last response said the connection ends (Connection: close, or HTTP/1.0 without
    // keep-alive): the next request opens a new one, even if the server has not closed
    // this one yet, so that it is never sent to a server that will not read it.
    bool reusable_ = true;
    std::string buffer_;  // received bytes not yet consumed
};

}  // namespace verifyd_test
