// The scripted HTTP server that stands in for the Sent API and for webhook receivers.
#include "support/fake_provider.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "support/receipts.hpp"
#include "support/text.hpp"

namespace verifyd_test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 1024 * 1024;
// No hold lasts longer than this, whatever the script says, so no test can hang on one.
constexpr auto kHoldCap = std::chrono::seconds(30);
constexpr auto kPollSlice = std::chrono::milliseconds(20);

std::optional<std::string> find_header(const Headers& headers, const std::string& name) {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return std::nullopt;
}

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 422:
            return "Unprocessable Entity";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "Status";
    }
}

// 408 (the request timed out) and 409 (the key is in progress) say that nothing was done,
// like 429: a client may try again, so none of them is kept for replay.
bool is_final(int status) {
    return (status >= 200 && status < 300) ||
           (status >= 400 && status < 500 && status != 408 && status != 409 && status != 429);
}

bool write_all(int fd, const std::string& bytes) {
    size_t written = 0;
    while (written < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + written, bytes.size() - written, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        written += static_cast<size_t>(n);
    }
    return true;
}

// Whether the client has closed its end (or reset it) without waiting.
bool peer_gone(int fd) {
    char byte;
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
        return true;
    }
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

// Reads into `buffer` until it holds `wanted` bytes; false on EOF, error or stop.
bool read_until_size(int fd, std::string& buffer, size_t wanted,
                     const std::atomic<bool>& stopping) {
    char chunk[16384];
    while (buffer.size() < wanted) {
        if (stopping.load()) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(kPollSlice.count()));
        if (ready < 0 && errno != EINTR) {
            return false;
        }
        if (ready <= 0) {
            continue;
        }
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buffer.append(chunk, static_cast<size_t>(n));
    }
    return true;
}

// Reads until `buffer` contains `marker`; returns its position or npos.
size_t read_until_marker(int fd, std::string& buffer, const std::string& marker, size_t limit,
                         const std::atomic<bool>& stopping) {
    for (;;) {
        size_t found = buffer.find(marker);
        if (found != std::string::npos) {
            return found;
        }
        if (buffer.size() > limit || !read_until_size(fd, buffer, buffer.size() + 1, stopping)) {
            return std::string::npos;
        }
    }
}

// A chunked body from the front of `buffer`, which it consumes; false when malformed.
bool read_chunked(int fd, std::string& buffer, std::string& body,
                  const std::atomic<bool>& stopping) {
    for (;;) {
        size_t line_end = read_until_marker(fd, buffer, "\r\n", kMaxHeaderBytes, stopping);
        if (line_end == std::string::npos) {
            return false;
        }
        size_t size = 0;
        try {
            size = std::stoul(buffer.substr(0, line_end), nullptr, 16);
        } catch (const std::exception&) {
            return false;
        }
        buffer.erase(0, line_end + 2);
        if (size == 0) {
            // Trailers, if any, end with an empty line.
            size_t end = read_until_marker(fd, buffer, "\r\n", kMaxHeaderBytes, stopping);
            while (end != std::string::npos && end != 0) {
                buffer.erase(0, end + 2);
                end = read_until_marker(fd, buffer, "\r\n", kMaxHeaderBytes, stopping);
            }
            if (end == std::string::npos) {
                return false;
            }
            buffer.erase(0, 2);
            return true;
        }
        if (body.size() + size > kMaxBodyBytes ||
            !read_until_size(fd, buffer, size + 2, stopping)) {
            return false;
        }
        body += buffer.substr(0, size);
        buffer.erase(0, size + 2);
    }
}

std::string render(const Reply& reply) {
    std::string out =
        "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) + "\r\n";
    out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    for (const auto& [name, value] : reply.headers) {
        out += name + ": " + value + "\r\n";
    }
    out += "\r\n";
    out += reply.body;
    return out;
}

std::string to_hex(const unsigned char* bytes, size_t size) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < size; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 0x0f];
    }
    return out;
}

}  // namespace

Reply Reply::ok() {
    return Reply{};
}

Reply Reply::sent_error(int status, const std::string& code, const std::string& message) {
    Reply reply;
    reply.status = status;
    reply.body =
        nlohmann::json{{"success", false}, {"error", {{"code", code}, {"message", message}}}}
            .dump();
    return reply;
}

Reply Reply::server_error(int status) {
    return sent_error(status, "INTERNAL_ERROR", "The fake provider failed on purpose");
}

Reply Reply::too_many_requests(int retry_after_seconds) {
    Reply reply = sent_error(429, "RATE_LIMIT_EXCEEDED", "Too many requests");
    reply.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
    return reply;
}

Reply Reply::hang(std::optional<std::chrono::milliseconds> limit) {
    Reply reply;
    reply.hold = true;
    reply.hold_for = limit;
    reply.answer_after_hold = false;
    return reply;
}

Reply Reply::held(Reply then, std::optional<std::chrono::milliseconds> limit) {
    then.hold = true;
    then.hold_for = limit;
    then.answer_after_hold = true;
    return then;
}

std::optional<std::string> RecordedRequest::header(const std::string& name) const {
    return find_header(headers, name);
}

std::string RecordedRequest::idempotency_key() const {
    return header("Idempotency-Key").value_or("");
}

std::string RecordedRequest::provider_message_id() const {
    const nlohmann::json answer = nlohmann::json::parse(answered_body, nullptr, false);
    const nlohmann::json::json_pointer id("/data/id");
    return answer.is_object() && answer.contains(id) && answer[id].is_string()
               ? answer[id].get<std::string>()
               : std::string();
}

std::string RecordedRequest::channel() const {
    if (!json.is_object() || !json.contains("channel")) {
        return {};
    }
    const nlohmann::json& channel = json["channel"];
    if (channel.is_string()) {
        return channel.get<std::string>();
    }
    if (channel.is_array() && !channel.empty() && channel[0].is_string()) {
        return channel[0].get<std::string>();
    }
    return {};
}

std::string RecordedRequest::code() const {
    for (const char* pointer : {"/template/parameters/code", "/template/variables/code"}) {
        const nlohmann::json::json_pointer path(pointer);
        if (json.is_object() && json.contains(path) && json[path].is_string()) {
            return json[path].get<std::string>();
        }
    }
    return {};
}

FakeProvider::FakeProvider() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        throw std::runtime_error(std::string("fake provider: socket: ") + strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const std::string problem = strerror(errno);
        ::close(listen_fd_);
        throw std::runtime_error("fake provider: cannot listen on 127.0.0.1: " + problem);
    }
    port_ = ntohs(address.sin_port);
    skip_exchanges_of(port_);
    acceptor_ = std::thread([this] { accept_loop(); });
}

FakeProvider::~FakeProvider() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_.store(true);
        ++release_generation_;
    }
    changed_.notify_all();
    if (acceptor_.joinable()) {
        acceptor_.join();
    }
    reap_connections(true);
    ::close(listen_fd_);
    record_exchanges_of(port_);
}

std::string FakeProvider::base_url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

std::string FakeProvider::url(const std::string& path) const {
    return base_url() + path;
}

void FakeProvider::set_default(Reply reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    default_reply_ = std::move(reply);
}

void FakeProvider::set_channel(const std::string& channel, Reply reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    channel_replies_[channel] = std::move(reply);
}

void FakeProvider::clear_channel(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    channel_replies_.erase(channel);
}

void FakeProvider::queue(Reply reply, int count, const std::string& channel) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < count; ++i) {
        queued_.push_back(Queued{reply, channel});
    }
}

void FakeProvider::release() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++release_generation_;
    }
    changed_.notify_all();
}

std::vector<RecordedRequest> FakeProvider::requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
}

size_t FakeProvider::request_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
}

std::vector<RecordedRequest> FakeProvider::requests_with_key(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<RecordedRequest> out;
    for (const auto& request : requests_) {
        if (request.idempotency_key() == key) {
            out.push_back(request);
        }
    }
    return out;
}

int FakeProvider::executions(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = executions_.find(key);
    return found == executions_.end() ? 0 : found->second;
}

std::map<std::string, int> FakeProvider::executions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return executions_;
}

int FakeProvider::held_now() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_;
}

bool FakeProvider::wait_for(const std::function<bool(const std::vector<RecordedRequest>&)>& ready,
                            std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return ready(requests_); });
}

bool FakeProvider::wait_for_requests(size_t count, std::chrono::milliseconds timeout) const {
    return wait_for([count](const auto& requests) { return requests.size() >= count; }, timeout);
}

bool FakeProvider::wait_for_executions(const std::string& key, int count,
                                       std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
        auto found = executions_.find(key);
        return found != executions_.end() && found->second >= count;
    });
}

bool FakeProvider::wait_for_executed_keys(size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return executions_.size() >= count; });
}

bool FakeProvider::wait_for_held(int count, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return held_ >= count; });
}

bool FakeProvider::signature_valid(const std::string& secret, const std::string& header,
                                   const std::string& body, int tolerance_seconds) {
    std::string timestamp;
    std::vector<std::string> signatures;
    size_t start = 0;
    while (start <= header.size()) {
        size_t comma = header.find(',', start);
        const std::string part = trim(
            header.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (part.rfind("t=", 0) == 0) {
            timestamp = part.substr(2);
        } else if (part.rfind("v1=", 0) == 0) {
            signatures.push_back(part.substr(3));
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (timestamp.empty() || timestamp.size() > 12 ||
        !std::all_of(timestamp.begin(), timestamp.end(),
                     [](unsigned char c) { return std::isdigit(c); })) {
        return false;
    }
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (std::llabs(now - std::stoll(timestamp)) > tolerance_seconds) {
        return false;
    }
    const std::string expected = hmac_sha256_hex(secret, timestamp + "." + body);
    for (const auto& signature : signatures) {
        if (signature.size() == expected.size() &&
            sodium_memcmp(signature.data(), expected.data(), expected.size()) == 0) {
            return true;
        }
    }
    return false;
}

std::string FakeProvider::hmac_sha256_hex(const std::string& key, const std::string& message) {
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium cannot start");
    }
    crypto_auth_hmacsha256_state state;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
    crypto_auth_hmacsha256_final(&state, mac);
    return to_hex(mac, sizeof mac);
}

void FakeProvider::accept_loop() {
    while (!stopping_.load()) {
        pollfd p{listen_fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(kPollSlice.count()));
        reap_connections(false);
        if (ready <= 0) {
            continue;
        }
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        auto done = std::make_shared<std::atomic<bool>>(false);
        std::lock_guard<std::mutex> lock(connections_mutex_);
        connections_.push_back(Connection{std::thread([this, fd, done] {
                                              serve(fd);
                                              ::close(fd);
                                              done->store(true);
                                          }),
                                          done});
    }
}

void FakeProvider::reap_connections(bool all) {
    std::vector<Connection> finished;
    {
        std::lock_guard<std::mutex> lock(connections_mutex_);
        auto keep = std::partition(connections_.begin(), connections_.end(),
                                   [all](const Connection& c) { return !all && !c.done->load(); });
        std::move(keep, connections_.end(), std::back_inserter(finished));
        connections_.erase(keep, connections_.end());
    }
    for (auto& connection : finished) {
        connection.thread.join();
    }
}

Reply FakeProvider::choose_locked(const std::string& channel) {
    for (auto it = queued_.begin(); it != queued_.end(); ++it) {
        if (it->channel.empty() || it->channel == channel) {
            Reply reply = it->reply;
            queued_.erase(it);
            return reply;
        }
    }
    auto standing = channel_replies_.find(channel);
    if (standing != channel_replies_.end()) {
        return standing->second;
    }
    return default_reply_;
}

void FakeProvider::serve(int fd) {
    std::string buffer;
    while (!stopping_.load()) {
        // The request line and headers.
        size_t header_end = read_until_marker(fd, buffer, "\r\n\r\n", kMaxHeaderBytes, stopping_);
        if (header_end == std::string::npos) {
            return;
        }
        RecordedRequest request;
        const std::string head = buffer.substr(0, header_end);
        buffer.erase(0, header_end + 4);
        size_t line_end = head.find("\r\n");
        const std::string request_line = head.substr(0, line_end);
        size_t first_space = request_line.find(' ');
        size_t last_space = request_line.rfind(' ');
        if (first_space == std::string::npos || last_space == first_space) {
            write_all(fd, render(Reply::sent_error(400, "BAD_REQUEST", "malformed request")));
            return;
        }
        request.method = request_line.substr(0, first_space);
        request.target = request_line.substr(first_space + 1, last_space - first_space - 1);
        request.version = request_line.substr(last_space + 1);
        size_t position = line_end == std::string::npos ? head.size() : line_end + 2;
        while (position < head.size()) {
            size_t next = head.find("\r\n", position);
            const std::string line = head.substr(
                position, next == std::string::npos ? std::string::npos : next - position);
            size_t colon = line.find(':');
            if (colon != std::string::npos) {
                request.headers.emplace_back(trim(line.substr(0, colon)),
                                             trim(line.substr(colon + 1)));
            }
            position = next == std::string::npos ? head.size() : next + 2;
        }

        // The body.
        auto expect = find_header(request.headers, "Expect");
        if (expect && iequals(*expect, "100-continue")) {
            write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n");
        }
        auto encoding = find_header(request.headers, "Transfer-Encoding");
        if (encoding && encoding->find("chunked") != std::string::npos) {
            if (!read_chunked(fd, buffer, request.body, stopping_)) {
                return;
            }
        } else if (auto length = find_header(request.headers, "Content-Length")) {
            size_t size = 0;
            try {
                size = std::stoul(*length);
            } catch (const std::exception&) {
                write_all(fd, render(Reply::sent_error(400, "BAD_REQUEST", "bad length")));
                return;
            }
            if (size > kMaxBodyBytes || !read_until_size(fd, buffer, size, stopping_)) {
                return;
            }
            request.body = buffer.substr(0, size);
            buffer.erase(0, size);
        }
        request.json = nlohmann::json::parse(request.body, nullptr, false);
        request.received = Clock::now();
        request.received_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
        // verifyd's own signed posts (events, the webhook provider's messages), to be held
        // against the document's webhooks as its answers are against its paths.
        if (find_header(request.headers, "X-Verifyd-Signature")) {
            record_request_of_verifyd(request.method, request.target, request.body);
        }
        auto connection = find_header(request.headers, "Connection");
        const bool close_after =
            (connection && iequals(*connection, "close")) ||
            (request.version == "HTTP/1.0" && !(connection && iequals(*connection, "keep-alive")));
        const std::string key = request.idempotency_key();
        const std::string channel = request.channel();

        // The answer: a replay, a conflict, or the script's.
        size_t index = 0;
        Reply reply;
        bool replay = false;
        bool owns_key = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            index = requests_.size();
            requests_.push_back(request);
            auto stored = key.empty() ? final_answers_.end() : final_answers_.find(key);
            if (stored != final_answers_.end()) {
                reply = stored->second;
                reply.headers.emplace_back("Idempotent-Replayed", "true");
                replay = true;
            } else if (!key.empty() && in_progress_[key] > 0) {
                reply = Reply::sent_error(409, "IDEMPOTENCY_IN_PROGRESS",
                                          "A request with this Idempotency-Key is in progress");
            } else {
                reply = choose_locked(channel);
                if (!key.empty()) {
                    ++in_progress_[key];
                    owns_key = true;
                }
            }
        }
        changed_.notify_all();

        bool answer = true;
        if (reply.hold) {
            std::unique_lock<std::mutex> lock(mutex_);
            const uint64_t generation = release_generation_;
            const auto limit =
                std::min<std::chrono::milliseconds>(reply.hold_for.value_or(kHoldCap), kHoldCap);
            const auto deadline = Clock::now() + limit;
            ++held_;
            changed_.notify_all();
            bool client_left = false;
            while (release_generation_ == generation && !stopping_.load() &&
                   Clock::now() < deadline) {
                changed_.wait_for(lock, kPollSlice);
                lock.unlock();
                client_left = peer_gone(fd);
                lock.lock();
                if (client_left) {
                    break;
                }
            }
            answer = reply.answer_after_hold && !client_left && !stopping_.load();
        }

        {
            // The hold ends with the key's turn, so that a retry seen once the hold is over
            // finds the key free.
            std::lock_guard<std::mutex> lock(mutex_);
            if (reply.hold) --held_;
            RecordedRequest& recorded = requests_[index];
            if (answer) {
                if (reply.status >= 200 && reply.status < 300 && reply.body.empty()) {
                    reply.body =
                        nlohmann::json{
                            {"success", true},
                            {"data",
                             {{"id", "sent_" + std::to_string(next_id_++)}, {"status", "QUEUED"}}}}
                            .dump();
                }
                recorded.answered_status = reply.status;
                recorded.answered_body = reply.body;
                recorded.replayed = replay;
                if (!replay && is_final(reply.status) && !key.empty() && owns_key) {
                    Reply stored = reply;
                    stored.hold = false;
                    final_answers_[key] = stored;
                }
                if (!replay && reply.status >= 200 && reply.status < 300) {
                    recorded.executed = true;
                    ++executions_[key];
                }
            }
            if (owns_key) {
                --in_progress_[key];
            }
        }
        changed_.notify_all();
        if (!answer) {
            return;
        }
        if (!write_all(fd, render(reply))) {
            return;
        }
        post_receipt_for(index);
        if (close_after) {
            return;
        }
    }
}

void FakeProvider::post_receipts_to(int port, const std::string& whsec_secret,
                                    const std::string& message_status) {
    std::lock_guard<std::mutex> lock(mutex_);
    receipts_ = Receipts{port, whsec_secret, message_status};
}

void FakeProvider::post_receipt_for(size_t index) {
    std::optional<Receipts> receipts;
    RecordedRequest request;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        receipts = receipts_;
        request = requests_[index];
    }
    if (!receipts || !request.executed || request.provider_message_id().empty()) {
        return;
    }
    const HttpResponse answer =
        post_sent_receipt(receipts->port, receipts->whsec_secret,
                          sent_status_event(request.provider_message_id(), receipts->message_status,
                                            request.channel()));
    std::lock_guard<std::mutex> lock(mutex_);
    receipt_answers_.push_back(answer.status);
}

std::vector<int> FakeProvider::receipt_answers() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return receipt_answers_;
}

}  // namespace verifyd_test
