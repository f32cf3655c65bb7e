// Carries requests between Pistache and the Api, and keeps HTTP/1.1 connections open.
// The Api may answer later, from the store's thread: Pistache hands a response written
// from another thread to the connection's own I/O thread.
// Pistache 0.0.5 answers "Connection: Close" to every request without an explicit
// keep-alive, which costs a TCP handshake per request for clients (curl, wrk, Go) that
// rightly send no Connection header; RFC 9112 §9.3 makes such connections persistent.
#include "verifyd/http_server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/peer.h>
#include <sys/socket.h>

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
bool wants_close(const Http::Request& request) {
    std::string connection;
    if (auto value = request_header(request, "Connection")) connection = *value;
    for (char& c : connection) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (request.version() == Http::Version::Http10)
        return connection.find("keep-alive") == std::string::npos;
    return connection.find("close") != std::string::npos;
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

class Handler : public Http::Handler {
  public:
    HTTP_PROTOTYPE(Handler)

    explicit Handler(Api& api) : api_(&api) {}

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        HttpRequest in;
        in.method = Http::methodString(request.method());
        in.path = request.resource();
        for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
             ++it)
            in.query.emplace_back(it->first, it->second);
        in.header = [&request](const std::string& name) { return request_header(request, name); };
        in.body = request.body();

        const bool client_closes = wants_close(request);
        auto shared_writer = std::make_shared<Http::ResponseWriter>(std::move(writer));
        api_->handle(in, [api = api_, shared_writer, client_closes](HttpResponse out) {
            // While draining, every connection is closed after its response, so clients
            // reconnect to a replica that is staying.
            write_response(*shared_writer, out, client_closes || api->draining());
        });
    }

  private:
    static void write_response(Http::ResponseWriter& writer, const HttpResponse& out, bool close) {
        auto& headers = writer.headers();
        headers.remove<Http::Header::Connection>();
        headers.add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                    : Http::ConnectionControl::KeepAlive);
        for (const auto& [name, value] : out.headers)
            headers.add(std::make_shared<NamedHeader>(name, value));
        // A client that left before its answer makes Pistache throw: nobody is left to tell.
        try {
            auto peer = writer.peer();
            auto sent = writer.send(static_cast<Http::Code>(out.status), out.body,
                                    media_type(out.content_type));
            // Pistache only announces "Connection: close"; the connection is ended here,
            // once the response is written. shutdown(), not close(): Pistache still owns
            // the fd and closes it when it sees the end of the stream.
            if (close && peer) {
                sent.then([peer](ssize_t) { ::shutdown(peer->fd(), SHUT_RDWR); },
                          [peer](std::exception_ptr) { ::shutdown(peer->fd(), SHUT_RDWR); });
            }
        } catch (const std::exception&) {
        }
    }

    Api* api_;
};

}  // namespace

struct HttpServer::Impl {
    Http::Endpoint endpoint;
    Impl(const std::string& host, int port) : endpoint(Address(host, Port(port))) {}
};

HttpServer::HttpServer(Api& api, const std::string& host, int port, int threads)
    : impl_(std::make_unique<Impl>(host, port)) {
    // Larger than the API's 16 KiB so that the API, not Pistache, answers oversized bodies.
    auto options = Http::Endpoint::options()
                       .threads(threads)
                       .flags(Tcp::Options::ReuseAddr)
                       .maxRequestSize(1024 * 1024);
    impl_->endpoint.init(options);
    impl_->endpoint.setHandler(Http::make_handler<Handler>(api));
}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
    impl_->endpoint.serveThreaded();
}

void HttpServer::shutdown() {
    impl_->endpoint.shutdown();
}

}  // namespace verifyd
