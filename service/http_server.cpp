// Carries requests between Pistache and the Api, keeps HTTP/1.1 connections open, and
// keeps slow clients from holding connections. The Api may answer later, from the
// store's thread: Pistache hands a response written from another thread to the
// connection's own I/O thread.
// Pistache 0.0.5 answers "Connection: Close" to every request without an explicit
// keep-alive, which costs a TCP handshake per request for clients (curl, wrk, Go) that
// rightly send no Connection header; RFC 9112 §9.3 makes such connections persistent.
// Pistache 0.0.5 enforces its header, body and keep-alive timeouts (a timer on each I/O
// thread looks twice a second; an unfinished request gets 408, an idle connection is
// closed); its defaults (60 s, 60 s, 300 s) are set from ConnectionLimits here. It has
// no cap on connections: the Handler counts them.
// Pistache only announces "Connection: close"; ending the connection is ours, and must
// never go through the fd number after the fact: once the client closes, Pistache closes
// that fd and the kernel hands the number to the next accepted connection. A connection
// that will be ended holds a descriptor of its own for its socket (ConnectionEnd).
#include "verifyd/http_server.hpp"

#include <fcntl.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/peer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <sstream>

namespace verifyd {
namespace {

using namespace Pistache;

std::optional<std::string> request_header(const Http::Request& request, const std::string& name) {
    const auto& headers = request.headers();
    if (auto raw = headers.tryGetRaw(name)) return raw->value();
    if (auto typed = headers.tryGet(name)) {
        // One stream per thread: constructing one per header costs more than the header.
        thread_local std::ostringstream value;
        value.str({});
        value.clear();
        typed->write(value);
        return value.str();
    }
    return std::nullopt;
}

// HTTP/1.1 stays open unless the client says close; HTTP/1.0 closes unless it asks.
// Pistache parses the Connection header into its own type (close, keep-alive, or
// anything else as "extension").
bool wants_close(const Http::Request& request) {
    auto connection = request.headers().tryGet<Http::Header::Connection>();
    const auto control = connection ? connection->control() : Http::ConnectionControl::Ext;
    if (request.version() == Http::Version::Http10)
        return control != Http::ConnectionControl::KeepAlive;
    return control == Http::ConnectionControl::Close;
}

// A response header with a name chosen at run time: Pistache writes only typed
// headers, never the raw ones of a response.
class NamedHeader : public Http::Header::Header {
  public:
    NamedHeader(std::string name, std::string value)
        : name_(std::move(name)), value_(std::move(value)) {}
    const char* name() const override { return name_.c_str(); }
    void write(std::ostream& stream) const override { stream << value_; }
#ifdef SAFE_HEADER_CAST
    uint64_t hash() const override {
        return 0;
    }
#endif

  private:
    std::string name_;
    std::string value_;
};

// Pistache parses a media type from its text on every response; there are two.
const Http::Mime::MediaType& media_type(const std::string& content_type) {
    thread_local std::map<std::string, Http::Mime::MediaType> parsed;
    auto found = parsed.find(content_type);
    if (found == parsed.end())
        found = parsed.emplace(content_type, Http::Mime::MediaType::fromString(content_type)).first;
    return found->second;
}

// A listener's open connections, across its I/O threads. Each connection holds a
// ticket for as long as Pistache keeps its peer, however the connection ends (by the
// client, by a timeout, at shutdown): the ticket's end gives its place back.
class ConnectionGate : public std::enable_shared_from_this<ConnectionGate> {
  public:
    ConnectionGate(int max_connections, Metrics& metrics)
        : max_connections_(max_connections), metrics_(metrics) {}

    class Ticket {
      public:
        explicit Ticket(std::shared_ptr<ConnectionGate> gate) : gate(std::move(gate)) {}
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket() {
            gate->open_.fetch_sub(1, std::memory_order_relaxed);
            gate->metrics_.connection_closed();
        }
        const std::shared_ptr<ConnectionGate> gate;
        bool refused = false;
    };

    std::shared_ptr<Ticket> admit() {
        const int open = open_.fetch_add(1, std::memory_order_relaxed) + 1;
        metrics_.connection_opened();
        auto ticket = std::make_shared<Ticket>(shared_from_this());
        if (open > max_connections_) {
            ticket->refused = true;
            metrics_.count_connection_refused();
        }
        return ticket;
    }

  private:
    const int max_connections_;
    Metrics& metrics_;
    std::atomic<int> open_{0};
};

// The means to end one connection once its last response is written: a duplicate of the
// peer's descriptor, taken on the peer's I/O thread while the request is being served,
// so that it names this connection's socket for as long as it lives, whatever Pistache
// has done with its own descriptor meanwhile. shutdown() acts on the socket; Pistache
// still closes its descriptor when it sees the end of the stream, and the socket is
// released when both are closed.
class ConnectionEnd {
  public:
    // Null when the descriptor cannot be duplicated (out of descriptors): the response
    // still says "Connection: close", and the client ends the connection.
    static std::shared_ptr<ConnectionEnd> of(const Tcp::Peer& peer) {
        const int own = ::fcntl(peer.fd(), F_DUPFD_CLOEXEC, 0);
        if (own < 0) return nullptr;
        return std::shared_ptr<ConnectionEnd>(new ConnectionEnd(own));
    }
    ~ConnectionEnd() { ::close(fd_); }
    ConnectionEnd(const ConnectionEnd&) = delete;
    ConnectionEnd& operator=(const ConnectionEnd&) = delete;

    void end() const { ::shutdown(fd_, SHUT_RDWR); }

  private:
    explicit ConnectionEnd(int fd) : fd_(fd) {}
    const int fd_;
};

class Handler : public Http::Handler {
  public:
    HTTP_PROTOTYPE(Handler)

    Handler(Api& api, Listener role, std::shared_ptr<ConnectionGate> gate)
        : api_(&api), role_(role), gate_(std::move(gate)) {}

    // Http::Handler's own onConnection only attaches the request parser, under its
    // public name; this one does that too, then counts the connection.
    void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
        peer->putData(ParserData, std::make_shared<Http::RequestParser>(getMaxRequestSize()));
        if (!gate_) return;
        auto ticket = gate_->admit();
        peer->putData("verifyd.connection", ticket);
        // Ended before a byte is read: Pistache sees the end of the stream and drops the
        // peer, which ends the ticket. The client sees its connection closed. The fd is
        // this peer's here: onConnection runs on its I/O thread before any read.
        if (ticket->refused) ::shutdown(peer->fd(), SHUT_RDWR);
    }

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        HttpRequest in;
        in.listener = role_;
        in.method = Http::methodString(request.method());
        in.path = request.resource();
        for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
             ++it)
            in.query.emplace_back(it->first, it->second);
        in.header = [&request](const std::string& name) { return request_header(request, name); };
        in.body = request.body();

        // While draining, every connection is closed after its response, so clients
        // reconnect to a replica that is staying. A request already in flight when the
        // draining begins has no ConnectionEnd: its response says close, and the client,
        // as HTTP/1.1 requires, does not send another on that connection.
        std::shared_ptr<ConnectionEnd> ending;
        if (wants_close(request) || api_->draining()) {
            if (auto peer = writer.peer()) ending = ConnectionEnd::of(*peer);
        }
        auto shared_writer = std::make_shared<Http::ResponseWriter>(std::move(writer));
        api_->handle(in, [api = api_, shared_writer, ending](HttpResponse out) {
            write_response(*shared_writer, out, ending, ending || api->draining());
        });
    }

  private:
    static void write_response(Http::ResponseWriter& writer, const HttpResponse& out,
                               const std::shared_ptr<ConnectionEnd>& ending, bool close) {
        auto& headers = writer.headers();
        headers.remove<Http::Header::Connection>();
        headers.add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                    : Http::ConnectionControl::KeepAlive);
        for (const auto& [name, value] : out.headers)
            headers.add(std::make_shared<NamedHeader>(name, value));
        // A client that left before its answer makes Pistache throw: nobody is left to tell.
        try {
            auto sent = writer.send(static_cast<Http::Code>(out.status), out.body,
                                    media_type(out.content_type));
            // Once the response is written (or cannot be), on whichever thread that is.
            if (ending)
                sent.then([ending](ssize_t) { ending->end(); },
                          [ending](std::exception_ptr) { ending->end(); });
        } catch (const std::exception&) {
        }
    }

    Api* api_;
    Listener role_;
    std::shared_ptr<ConnectionGate> gate_;  // null: connections are neither counted nor capped
};

}  // namespace

struct HttpServer::Impl {
    Http::Endpoint endpoint;
    explicit Impl(const Listening& listening)
        : endpoint(Address(listening.host, Port(static_cast<uint16_t>(listening.port)))) {}
};

HttpServer::HttpServer(Api& api, const Listening& listening)
    : impl_(std::make_unique<Impl>(listening)) {
    const ConnectionLimits& limits = listening.limits;
    // A body is part of the request whose time the header timeout bounds: the API's
    // bodies are small, and a dribbled body holds a connection as a dribbled header does.
    const std::chrono::milliseconds request_timeout(limits.header_timeout_ms);
    // Larger than the API's 16 KiB so that the API, not Pistache, answers oversized bodies.
    auto options = Http::Endpoint::options()
                       .threads(listening.threads)
                       .flags(Tcp::Options::ReuseAddr)
                       .maxRequestSize(1024 * 1024)
                       .headerTimeout(request_timeout)
                       .bodyTimeout(request_timeout)
                       .keepaliveTimeout(std::chrono::milliseconds(limits.idle_timeout_ms));
    impl_->endpoint.init(options);
    std::shared_ptr<ConnectionGate> gate;
    if (listening.connection_metrics)
        gate =
            std::make_shared<ConnectionGate>(limits.max_connections, *listening.connection_metrics);
    impl_->endpoint.setHandler(Http::make_handler<Handler>(api, listening.role, gate));
}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
    impl_->endpoint.serveThreaded();
}

void HttpServer::shutdown() {
    impl_->endpoint.shutdown();
}

}  // namespace verifyd
