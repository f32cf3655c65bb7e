// The scripted RESP server of fake_redis.hpp: one thread polls the listener, a wake-up
// pipe and every connection; each complete command read is recorded, answered by the
// script, and the answers of one read are written back together.
#include "support/fake_redis.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace verifyd_test {

namespace resp {

std::string status(const std::string& text) {
    return "+" + text + "\r\n";
}

std::string error(const std::string& text) {
    return "-" + text + "\r\n";
}

std::string bulk(const std::string& text) {
    return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

std::string nil() {
    return "$-1\r\n";
}

std::string integer(long long value) {
    return ":" + std::to_string(value) + "\r\n";
}

std::string array(const std::vector<std::string>& elements) {
    std::string out = "*" + std::to_string(elements.size()) + "\r\n";
    for (const auto& element : elements) {
        out += element;
    }
    return out;
}

}  // namespace resp

namespace {

constexpr size_t kMaxConnections = 64;
// verifyd's FUNCTION LOAD carries its whole library, some 150 KB; a request bigger
// than this is a broken client, and its connection is closed.
constexpr size_t kMaxRequestBytes = 16 * 1024 * 1024;
// A client that does not read its answers for this long loses its connection.
constexpr auto kWriteTimeout = std::chrono::seconds(5);

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

// A number ending in \r\n at `at`; moves `at` past it.
std::optional<long long> read_number(const std::string& buffer, size_t& at) {
    const size_t end = buffer.find("\r\n", at);
    if (end == std::string::npos || end == at) {
        return std::nullopt;
    }
    long long value = 0;
    for (size_t i = at; i < end; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(buffer[i])) ||
            value > static_cast<long long>(kMaxRequestBytes)) {
            return std::nullopt;
        }
        value = value * 10 + (buffer[i] - '0');
    }
    at = end + 2;
    return value;
}

enum class Parse { Complete, Incomplete, Broken };

// One RESP array of bulk strings from the front of `buffer`.
Parse parse_command(const std::string& buffer, std::vector<std::string>& args, size_t& used) {
    size_t at = 0;
    if (buffer.empty()) {
        return Parse::Incomplete;
    }
    if (buffer[0] != '*') {
        return Parse::Broken;
    }
    ++at;
    if (buffer.find("\r\n", at) == std::string::npos) {
        return Parse::Incomplete;
    }
    auto count = read_number(buffer, at);
    if (!count || *count == 0) {
        return Parse::Broken;
    }
    args.clear();
    for (long long i = 0; i < *count; ++i) {
        if (at >= buffer.size() || buffer.find("\r\n", at) == std::string::npos) {
            return Parse::Incomplete;
        }
        if (buffer[at] != '$') {
            return Parse::Broken;
        }
        ++at;
        auto length = read_number(buffer, at);
        if (!length) {
            return Parse::Broken;
        }
        if (buffer.size() < at + *length + 2) {
            return Parse::Incomplete;
        }
        args.push_back(buffer.substr(at, *length));
        at += *length + 2;
    }
    used = at;
    return Parse::Complete;
}

std::string default_reply(const std::vector<std::string>& args) {
    const std::string name = upper(args[0]);
    if (name == "PING") {
        return resp::status("PONG");
    }
    if (name == "AUTH" || name == "SELECT" || name == "ASKING") {
        return resp::status("OK");
    }
    if (name == "FUNCTION") {
        return resp::bulk("verifyd");
    }
    return resp::error("ERR unknown command '" + args[0] + "'");
}

}  // namespace

struct FakeRedis::Impl {
    struct Client {
        int fd;
        int number;
        int reads = 0;
        std::string buffer;
    };

    int listener = -1;
    int port = 0;
    int wake[2] = {-1, -1};
    std::thread thread;

    mutable std::mutex mutex;
    Script script;
    std::vector<ReceivedCommand> received;
    bool stopped = false;

    explicit Impl(Script script_in) : script(std::move(script_in)) {
        listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            listen(listener, 64) != 0 ||
            getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
            pipe2(wake, O_CLOEXEC) != 0) {
            const std::string problem = strerror(errno);
            close_all({});
            throw std::runtime_error("fake redis cannot listen: " + problem);
        }
        port = ntohs(address.sin_port);
        thread = std::thread([this] { serve(); });
    }

    ~Impl() { stop(); }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (stopped) {
                return;
            }
            stopped = true;
        }
        const char byte = 0;
        if (write(wake[1], &byte, 1) < 0) {
            // The thread also ends on the next event; nothing else to do.
        }
        if (thread.joinable()) {
            thread.join();
        }
        close_all({});
    }

    void close_all(const std::vector<Client>& clients) {
        for (const Client& client : clients) {
            close(client.fd);
        }
        for (int* fd : {&listener, &wake[0], &wake[1]}) {
            if (*fd >= 0) {
                close(*fd);
                *fd = -1;
            }
        }
    }

    void serve() {
        std::vector<Client> clients;
        int accepted = 0;
        for (;;) {
            std::vector<pollfd> fds{{wake[0], POLLIN, 0}, {listener, POLLIN, 0}};
            for (const Client& client : clients) {
                fds.push_back({client.fd, POLLIN, 0});
            }
            if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
                break;
            }
            if (fds[0].revents) {
                break;
            }
            if (fds[1].revents & POLLIN) {
                int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd >= 0 && clients.size() >= kMaxConnections) {
                    close(fd);
                } else if (fd >= 0) {
                    clients.push_back(Client{fd, ++accepted, 0, {}});
                }
            }
            // Connections accepted just now are not in fds; they are polled next time.
            std::vector<Client> kept;
            for (size_t i = 0; i < clients.size(); ++i) {
                const bool polled = i + 2 < fds.size();
                if (!polled || !fds[i + 2].revents || serve_client(clients[i])) {
                    kept.push_back(std::move(clients[i]));
                } else {
                    close(clients[i].fd);
                }
            }
            clients = std::move(kept);
        }
        for (const Client& client : clients) {
            close(client.fd);
        }
    }

    // Reads what the client sent and answers every complete command; false when the
    // connection is to be closed.
    bool serve_client(Client& client) {
        char chunk[65536];
        const ssize_t got = read(client.fd, chunk, sizeof chunk);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
            return true;
        }
        if (got <= 0) {
            return false;
        }
        client.buffer.append(chunk, static_cast<size_t>(got));
        if (client.buffer.size() > kMaxRequestBytes) {
            return false;
        }
        ++client.reads;
        std::string replies;
        for (;;) {
            std::vector<std::string> args;
            size_t used = 0;
            const Parse parse = parse_command(client.buffer, args, used);
            if (parse == Parse::Broken) {
                return false;
            }
            if (parse == Parse::Incomplete) {
                break;
            }
            client.buffer.erase(0, used);
            replies += answer(client, args);
        }
        return write_all(client.fd, replies);
    }

    std::string answer(const Client& client, const std::vector<std::string>& args) {
        Script current;
        {
            std::lock_guard<std::mutex> lock(mutex);
            received.push_back(ReceivedCommand{args, client.number, client.reads});
            current = script;
        }
        std::string reply = current ? current(args) : std::string();
        return reply.empty() ? default_reply(args) : reply;
    }

    static bool write_all(int fd, const std::string& data) {
        const auto deadline = std::chrono::steady_clock::now() + kWriteTimeout;
        size_t sent = 0;
        while (sent < data.size()) {
            const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
                std::chrono::steady_clock::now() < deadline) {
                pollfd out{fd, POLLOUT, 0};
                poll(&out, 1, 100);
                continue;
            }
            return false;
        }
        return true;
    }
};

FakeRedis::FakeRedis(Script script) : impl_(std::make_unique<Impl>(std::move(script))) {}

FakeRedis::~FakeRedis() = default;

int FakeRedis::port() const {
    return impl_->port;
}

void FakeRedis::set_script(Script script) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->script = std::move(script);
}

void FakeRedis::stop() {
    impl_->stop();
}

std::vector<ReceivedCommand> FakeRedis::received() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->received;
}

std::vector<std::vector<std::string>> FakeRedis::commands() const {
    std::vector<std::vector<std::string>> out;
    for (const auto& command : received()) {
        out.push_back(command.args);
    }
    return out;
}

size_t FakeRedis::count(const std::string& name) const {
    const std::string wanted = upper(name);
    size_t n = 0;
    for (const auto& command : received()) {
        n += upper(command.args[0]) == wanted ? 1 : 0;
    }
    return n;
}

}  // namespace verifyd_test
