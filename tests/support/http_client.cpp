// The raw-socket HTTP/1.1 client of the integration tests.
#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "support/text.hpp"

namespace verifyd_test {

namespace {

std::string lowercase(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
}

// A reused connection that the server closed before answering, worth one retry.
class StaleConnection : public HttpError {
  public:
    using HttpError::HttpError;
};

// The VERIFYD_TEST_EXCHANGES record: one file per process, opened for appending, one
// write per line under a lock, so that threads and parallel test processes never
// interleave their lines.
class ExchangeRecord {
  public:
    static ExchangeRecord& instance() {
        static ExchangeRecord record;
        return record;
    }

    void skip(int port, bool skipped) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (skipped) {
            skipped_ports_.insert(port);
        } else {
            skipped_ports_.erase(port);
        }
    }

    void add(int port, const std::string& method, const std::string& target,
             const HttpResponse& response) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (skipped_ports_.count(port) != 0) {
            return;
        }
        write({{"method", method},
               {"path", target.substr(0, target.find('?'))},
               {"status", response.status},
               {"content_type", response.header("Content-Type").value_or("")},
               {"body", response.body}});
    }

    void add_request(const std::string& method, const std::string& target,
                     const std::string& body) {
        std::lock_guard<std::mutex> lock(mutex_);
        write({{"request", true},
               {"method", method},
               {"path", target.substr(0, target.find('?'))},
               {"body", body}});
    }

  private:
    // Under mutex_.
    void write(const nlohmann::json& line) {
        if (file_ == nullptr) {
            return;
        }
        const std::string text =
            line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
            std::fflush(file_) != 0) {
            throw HttpError("cannot append to the VERIFYD_TEST_EXCHANGES record");
        }
    }

    ExchangeRecord() {
        const char* dir = std::getenv("VERIFYD_TEST_EXCHANGES");
        if (dir == nullptr || *dir == '\0') {
            return;
        }
        ::mkdir(dir, 0755);
        const std::string path =
            std::string(dir) + "/exchanges-" + std::to_string(::getpid()) + ".jsonl";
        file_ = std::fopen(path.c_str(), "ae");
        if (file_ == nullptr) {
            throw HttpError("cannot open " + path + ": " + strerror(errno));
        }
    }

    std::mutex mutex_;
    std::FILE* file_ = nullptr;
    std::set<int> skipped_ports_;
};

}  // namespace

void record_request_of_verifyd(const std::string& method, const std::string& target,
                               const std::string& body) {
    ExchangeRecord::instance().add_request(method, target, body);
}

void skip_exchanges_of(int port) {
    ExchangeRecord::instance().skip(port, true);
}

void record_exchanges_of(int port) {
    ExchangeRecord::instance().skip(port, false);
}

std::optional<std::string> HttpResponse::header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return std::nullopt;
}

std::vector<std::string> HttpResponse::header_values(const std::string& name) const {
    std::vector<std::string> values;
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            values.push_back(value);
        }
    }
    return values;
}

nlohmann::json HttpResponse::json() const {
    return nlohmann::json::parse(body, nullptr, false);
}

HttpClient::HttpClient(int port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() {
    close();
}

HttpClient::HttpClient(HttpClient&& other) noexcept
    : port_(other.port_),
      timeout_(other.timeout_),
      fd_(other.fd_),
      connections_opened_(other.connections_opened_),
      reusable_(other.reusable_),
      buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
    if (this != &other) {
        close();
        port_ = other.port_;
        timeout_ = other.timeout_;
        fd_ = other.fd_;
        connections_opened_ = other.connections_opened_;
        reusable_ = other.reusable_;
        buffer_ = std::move(other.buffer_);
        other.fd_ = -1;
    }
    return *this;
}

void HttpClient::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    buffer_.clear();
}

void HttpClient::connect() {
    close();
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw HttpError(std::string("socket: ") + strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    // A loopback connect succeeds or is refused at once, so it needs no deadline.
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        int error = errno;
        close();
        throw HttpError("connect 127.0.0.1:" + std::to_string(port_) + ": " + strerror(error));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_opened_;
    reusable_ = true;
}

bool HttpClient::peer_closed() {
    if (fd_ < 0) {
        return true;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) {
        return false;
    }
    char byte;
    ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

bool HttpClient::closed_by_server(std::chrono::milliseconds wait) {
    if (fd_ < 0) {
        return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        int ready = poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return false;
        }
        char byte;
        ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return true;
        }
        if (n > 0) {
            // Unsolicited bytes: the connection is open (and the server is misbehaving).
            return false;
        }
    }
}

void HttpClient::write_all(const std::string& bytes,
                           std::chrono::steady_clock::time_point deadline) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        pollfd p{fd_, POLLOUT, 0};
        int ready = poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            throw HttpError("timed out sending the request");
        }
        ssize_t n =
            ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            // The server may have answered (e.g. 413) and closed before reading it all;
            // the caller still reads whatever response arrived.
            return;
        }
        sent += static_cast<size_t>(n);
    }
}

bool HttpClient::read_more(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        int ready = poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            throw HttpError("timed out after " + std::to_string(timeout_.count()) +
                            " ms waiting for the response");
        }
        char chunk[16384];
        ssize_t n = recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0) {
            buffer_.append(chunk, static_cast<size_t>(n));
            return true;
        }
        if (n == 0) {
            return false;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
            continue;
        }
        // A reset is an end of the stream like any other for this client.
        return false;
    }
}

HttpResponse HttpClient::read_response(const std::string& method) {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
        size_t header_end;
        while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            if (!read_more(deadline)) {
                if (buffer_.empty()) {
                    throw StaleConnection("the server closed the connection without a response");
                }
                throw HttpError("the server closed the connection inside the response head");
            }
        }
        std::string head = buffer_.substr(0, header_end);
        buffer_.erase(0, header_end + 4);

        HttpResponse response;
        size_t line_end = head.find("\r\n");
        std::string status_line = head.substr(0, line_end);
        size_t first_space = status_line.find(' ');
        if (first_space == std::string::npos) {
            throw HttpError("malformed status line: " + status_line);
        }
        response.version = status_line.substr(0, first_space);
        size_t second_space = status_line.find(' ', first_space + 1);
        try {
            response.status = std::stoi(status_line.substr(first_space + 1, 3));
        } catch (const std::exception&) {
            throw HttpError("malformed status line: " + status_line);
        }
        if (second_space != std::string::npos) {
            response.reason = status_line.substr(second_space + 1);
        }
        size_t position = line_end == std::string::npos ? head.size() : line_end + 2;
        while (position < head.size()) {
            size_t next = head.find("\r\n", position);
            if (next == std::string::npos) {
                next = head.size();
            }
            std::string line = head.substr(position, next - position);
            size_t colon = line.find(':');
            if (colon != std::string::npos) {
                response.headers.emplace_back(trim(line.substr(0, colon)),
                                              trim(line.substr(colon + 1)));
            }
            position = next + 2;
        }

        if (response.status >= 100 && response.status < 200) {
            continue;  // an interim response (100 Continue): the real one follows
        }
        std::string connection;
        for (const auto& value : response.header_values("Connection")) {
            connection += lowercase(value) + ",";
        }
        reusable_ = response.version == "HTTP/1.0"
                        ? connection.find("keep-alive") != std::string::npos
                        : connection.find("close") == std::string::npos;

        const bool no_body = method == "HEAD" || response.status == 204 || response.status == 304;
        auto transfer_encoding = response.header("Transfer-Encoding");
        auto content_length = response.header("Content-Length");
        if (no_body) {
            return response;
        }
        if (transfer_encoding && transfer_encoding->find("chunked") != std::string::npos) {
            for (;;) {
                size_t size_end;
                while ((size_end = buffer_.find("\r\n")) == std::string::npos) {
                    if (!read_more(deadline)) {
                        throw HttpError("connection closed inside a chunked body");
                    }
                }
                size_t size = std::stoul(buffer_.substr(0, size_end), nullptr, 16);
                buffer_.erase(0, size_end + 2);
                while (buffer_.size() < size + 2) {
                    if (!read_more(deadline)) {
                        throw HttpError("connection closed inside a chunk");
                    }
                }
                response.body += buffer_.substr(0, size);
                buffer_.erase(0, size + 2);
                if (size == 0) {
                    return response;
                }
            }
        }
        if (content_length) {
            size_t length = std::stoul(*content_length);
            while (buffer_.size() < length) {
                if (!read_more(deadline)) {
                    throw HttpError("connection closed after " + std::to_string(buffer_.size()) +
                                    " of " + std::to_string(length) + " body bytes");
                }
            }
            response.body = buffer_.substr(0, length);
            buffer_.erase(0, length);
            return response;
        }
        while (read_more(deadline)) {
        }
        response.body = std::move(buffer_);
        buffer_.clear();
        close();
        return response;
    }
}

// A request that ends without an answer (HttpError) records nothing: there is no answer
// to hold against the document.
HttpResponse HttpClient::exchange(const std::string& method, const std::string& target,
                                  const std::string& bytes) {
    HttpResponse response = exchange_once(method, bytes);
    ExchangeRecord::instance().add(port_, method, target, response);
    return response;
}

HttpResponse HttpClient::exchange_once(const std::string& method, const std::string& bytes) {
    bool fresh = false;
    if (fd_ >= 0 && (!reusable_ || peer_closed())) {
        close();
    }
    if (fd_ < 0) {
        connect();
        fresh = true;
    }
    try {
        write_all(bytes, std::chrono::steady_clock::now() + timeout_);
        return read_response(method);
    } catch (const StaleConnection&) {
        if (fresh) {
            throw;
        }
    }
    connect();
    write_all(bytes, std::chrono::steady_clock::now() + timeout_);
    return read_response(method);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const Headers& headers, const std::string& body,
                                 const std::string& version) {
    std::string bytes = method + " " + target + " " + version + "\r\n";
    bytes += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
    for (const auto& [name, value] : headers) {
        bytes += name + ": " + value + "\r\n";
    }
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    bytes += "\r\n";
    bytes += body;
    return exchange(method, target, bytes);
}

HttpResponse HttpClient::get(const std::string& target, const Headers& headers) {
    return request("GET", target, headers);
}

HttpResponse HttpClient::post(const std::string& target, const Headers& headers,
                              const std::string& body) {
    return request("POST", target, headers, body);
}

HttpResponse HttpClient::send_raw(const std::string& bytes) {
    const std::string line = bytes.substr(0, bytes.find_first_of("\r\n"));
    const size_t space = line.find(' ');
    const std::string method = space == std::string::npos ? std::string() : line.substr(0, space);
    std::string target;
    if (space != std::string::npos) {
        target = line.substr(space + 1);
        target = target.substr(0, target.find(' '));
    }
    return exchange(method, target, bytes);
}

}  // namespace verifyd_test
