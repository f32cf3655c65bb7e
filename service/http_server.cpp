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
// Pistache only announces "Connection: close"; ending the connection is ours. Answers
// are written, and connections ended, through a descriptor of the connection's own
// (ConnectionSocket), never through the fd number after the fact: once the client
// closes, Pistache closes that fd and the kernel hands the number to the next accepted
// connection.
// Pistache 0.0.5 answers a request it cannot parse and then reads on, so the rest of an
// oversized body, or of a request framed one way by a proxy and another by Pistache, would
// be read as requests: the Handler looks at the bytes itself first (http_framing.hpp) and
// ends the connection after any such refusal. Requests are not pipelined (Pistache reads
// one per read, and answers go out as each is done): bytes that come with a request beyond
// it, or before its answer, are not read, and the answer closes the connection.
#include "verifyd/http_server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "service/connections.hpp"
#include "verifyd/http_framing.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using namespace Pistache;

// Pistache keeps the spaces and tabs around a raw header's value, which are not part of
// it (RFC 9110 §5.5).
std::optional<std::string> request_header(const Http::Request& request, const std::string& name) {
    const auto& headers = request.headers();
    if (auto raw = headers.tryGetRaw(name)) return trim(raw->value());
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

// Where one connection is in reading its current request, beside Pistache's parser, and
// its socket. The I/O thread alone reads and writes the fields above the mutex; the
// thread that answers shares those below it.
struct Framing {
    explicit Framing(const Tcp::Peer& peer) : socket(std::make_shared<ConnectionSocket>(peer)) {}

    std::string head;        // the request's first bytes, until its header block is complete
    size_t head_length = 0;  // the header block's length once checked; 0 before
    size_t fed = 0;          // the request's bytes given to the parser so far
    bool refused = false;    // nothing more is read: a request was refused, or came too early
    std::mutex mutex;
    bool answering = false;  // a request was read and its answer is not yet written
    // Bytes came while answering (a pipelined request): the answer ends the connection.
    bool end_after_answer = false;
    const std::shared_ptr<ConnectionSocket> socket;
};
constexpr const char* kFramingData = "verifyd.framing";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

class Handler : public Http::Handler {
  public:
    HTTP_PROTOTYPE(Handler)

    Handler(Api& api, Listener role, std::shared_ptr<ConnectionGate> gate)
        : api_(&api), role_(role), gate_(std::move(gate)) {}

    // Http::Handler's own onConnection only attaches the request parser, under its
    // public name; this one does that too, then counts the connection.
    void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
        peer->putData(ParserData, std::make_shared<Http::RequestParser>(getMaxRequestSize()));
        peer->putData(kFramingData, std::make_shared<Framing>(*peer));
        if (!gate_) return;
        auto ticket = gate_->admit();
        peer->putData("verifyd.connection", ticket);
        // Ended before a byte is read: Pistache sees the end of the stream and drops the
        // peer, which ends the ticket. The client sees its connection closed. The fd is
        // this peer's here: onConnection runs on its I/O thread before any read.
        if (ticket->refused) ::shutdown(peer->fd(), SHUT_RDWR);
    }

    // Http::Handler's onInput, with the header block checked before the parser reads it
    // and a connection ended after a request that could not be read.
    void onInput(const char* buffer, size_t length,
                 const std::shared_ptr<Tcp::Peer>& peer) override {
        auto framing = std::static_pointer_cast<Framing>(peer->getData(kFramingData));
        if (framing->refused) return;
        // Empty lines before a request are no part of it (RFC 9112 §2.2).
        if (framing->fed == 0 && framing->head.empty()) {
            const size_t empty_lines = empty_lines_length(std::string_view(buffer, length));
            buffer += empty_lines;
            length -= empty_lines;
            if (length == 0) return;
        }
        {
            // A request written before the answer to the one before it is not read: answers
            // would have to keep the requests' order, and this server answers as each is
            // done. The client learns so from the answer's Connection: close.
            std::lock_guard<std::mutex> lock(framing->mutex);
            if (framing->answering) {
                framing->refused = true;
                framing->end_after_answer = true;
                return;
            }
        }
        if (framing->head_length == 0) {
            // Most requests come whole in one read: their header block is read where it is.
            // Otherwise only what came since the last read is searched, so that a client
            // that sends a byte at a time costs each byte once.
            std::string_view bytes(buffer, length);
            size_t block = framing->head.empty() ? header_block_length(bytes) : std::string::npos;
            if (block == std::string_view::npos) {
                const size_t from = framing->head.size() < 3 ? 0 : framing->head.size() - 3;
                framing->head.append(buffer,
                                     std::min(length, getMaxRequestSize() - framing->head.size()));
                bytes = framing->head;
                block = header_block_length(bytes.substr(from));
                if (block != std::string_view::npos) block += from;
            }
            if (block != std::string_view::npos) {
                const FramingVerdict verdict =
                    check_header_block(bytes.substr(0, block), getMaxRequestSize());
                if (verdict.problem) return refuse(peer, *verdict.problem);
                // A client that waits for leave to send its body gets it (RFC 9110 §10.1.1);
                // one whose body came along already needs none.
                if (verdict.framing.expects_continue &&
                    bytes.size() - block < verdict.framing.content_length)
                    ConnectionSocket::write(framing->socket, *peer, std::string(kContinue),
                                            ConnectionSocket::End::Keep);
                framing->head_length = block;
                framing->head.clear();
            }
        }
        framing->fed += length;
        auto parser = getParser(peer);
        auto state = Http::Private::State::Again;
        try {
            if (!parser->feed(buffer, length))
                return refuse(peer, {413, "The request is larger than verifyd reads."});
            state = parser->parse();
        } catch (const std::exception&) {
            // Pistache's reasons name its own internals ("stoull"), not the request.
            return refuse(peer, {400, "The request is not HTTP/1.1 that verifyd can read."});
        }
        if (state != Http::Private::State::Done) return;
        // Pistache took a header block that does not end in CRLF CRLF.
        if (framing->head_length == 0)
            return refuse(peer, {400, "The header block must end with an empty line (CRLF)."});
        auto& request = parser->request;
        // Bytes beyond the request (pipelining) are not read, nor any that come after them;
        // empty lines after a body are dropped.
        const size_t request_length = framing->head_length + request.body().size();
        const size_t beyond = framing->fed > request_length ? framing->fed - request_length : 0;
        const bool more = beyond > length || empty_lines_length(std::string_view(
                                                 buffer + length - beyond, beyond)) < beyond;
        framing->refused = more;
        framing->head_length = 0;
        framing->fed = 0;
        request.copyAddress(peer->address());
        peer->setIdle(false);
        serve(request, peer, more, framing);
        parser->reset();
    }

    // Only Http::Handler's own onInput calls this, and onInput above replaces it; were it
    // called, the request would be served as onInput serves one.
    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        auto peer = writer.peer();
        if (!peer) return;
        serve(request, peer, false, std::static_pointer_cast<Framing>(peer->getData(kFramingData)));
    }

  private:
    // `more`: bytes came after the request, which this server does not read (pipelining,
    // or a body longer than its Content-Length): its answer ends the connection.
    void serve(const Http::Request& request, const std::shared_ptr<Tcp::Peer>& peer, bool more,
               const std::shared_ptr<Framing>& framing) {
        HttpRequest in;
        in.listener = role_;
        in.method = Http::methodString(request.method());
        in.path = request.resource();
        for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
             ++it)
            in.query.emplace_back(it->first, it->second);
        in.header = [&request](const std::string& name) { return request_header(request, name); };
        in.body = request.body();

        using End = ConnectionSocket::End;
        const End ending = more ? End::Linger : wants_close(request) ? End::Close : End::Keep;
        {
            std::lock_guard<std::mutex> lock(framing->mutex);
            framing->answering = true;
        }
        Answering answering{request.version(), request.method() == Http::Method::Head};
        std::weak_ptr<Tcp::Peer> answered = peer;
        api_->handle(in, [api = api_, answered, ending, framing, answering](HttpResponse out) {
            // Held until the answer is written, so that a request read meanwhile is answered
            // after it, and one that came before it ends the connection.
            std::lock_guard<std::mutex> lock(framing->mutex);
            framing->answering = false;
            End end = ending;
            // While draining, every connection is closed after its response, so clients
            // reconnect to a replica that is staying.
            if (end == End::Keep && api->draining()) end = End::Close;
            if (framing->end_after_answer) end = End::Linger;
            // A client that left before its answer has nobody left to tell.
            if (auto peer = answered.lock()) write_answer(*peer, *framing, answering, out, end);
        });
    }

    // Answers a request whose bytes could not be read as one request, and reads nothing
    // more from its connection, which ends once the answer is written.
    void refuse(const std::shared_ptr<Tcp::Peer>& peer, const FramingProblem& problem) {
        auto framing = std::static_pointer_cast<Framing>(peer->getData(kFramingData));
        framing->refused = true;
        getParser(peer)->reset();
        write_answer(*peer, *framing, Answering{Http::Version::Http11, false},
                     api_->refuse_unreadable(problem.status, problem.problem),
                     ConnectionSocket::End::Linger);
    }

    // What the answer needs to know of its request.
    struct Answering {
        Http::Version version;
        bool head;  // the GET's status and header fields, without its body (RFC 9110 §9.3.2)
    };

    // Writes the answer through the connection's socket, then ends the connection as
    // `end` says. An answer to a HEAD keeps the Content-Length of the body it leaves out
    // (RFC 9110 §8.6).
    static void write_answer(Tcp::Peer& peer, const Framing& framing, const Answering& answering,
                             const HttpResponse& out, ConnectionSocket::End end) {
        std::string bytes = answering.version == Http::Version::Http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
        bytes += std::to_string(out.status);
        bytes += ' ';
        bytes += Http::codeString(static_cast<Http::Code>(out.status));
        bytes += "\r\nContent-Type: " + out.content_type + "\r\n";
        for (const auto& [name, value] : out.headers) bytes += name + ": " + value + "\r\n";
        bytes += end == ConnectionSocket::End::Keep ? "Connection: Keep-Alive\r\n"
                                                    : "Connection: Close\r\n";
        bytes += "Content-Length: " + std::to_string(out.body.size()) + "\r\n\r\n";
        if (!answering.head) bytes += out.body;
        // As Pistache's ResponseWriter does: the connection waits for its next request.
        peer.setIdle(true);
        ConnectionSocket::write(framing.socket, peer, std::move(bytes), end);
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
