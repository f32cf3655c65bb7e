// bench/bare_handler: the framework's ceiling for verifyd's benchmark (bench/run.sh).
// A Pistache 0.0.5 endpoint whose handler answers every request with one constant JSON
// body, configured like verifyd's (service/http_server.cpp: same thread count, options
// and keep-alive fix), so that verifyd's throughput can be read as a share of what the
// framework alone reaches on this machine.
//
// Usage: bare_handler HOST PORT THREADS
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/peer.h>
#include <signal.h>
#include <sys/socket.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace {

using namespace Pistache;

// About the size of verifyd's check response, so both write similar bytes per request.
const std::string kBody =
    R"({"success":true,"data":{"id":"vrf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)"
    R"("to":"+14155552671","status":"pending","verified":false,"attempts_remaining":99},)"
    R"("meta":{"request_id":"req_AAAAAAAAAAAAAAAA","timestamp":"2026-01-01T00:00:00Z",)"
    R"("version":"v1"}})";

// The same header lookup and keep-alive rule as service/http_server.cpp.
std::string connection_header(const Http::Request& request) {
    const auto& headers = request.headers();
    if (auto raw = headers.tryGetRaw("Connection")) return raw->value();
    if (auto typed = headers.tryGet("Connection")) {
        std::ostringstream value;
        typed->write(value);
        return value.str();
    }
    return {};
}

bool wants_close(const Http::Request& request) {
    std::string connection = connection_header(request);
    for (char& c : connection) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (request.version() == Http::Version::Http10)
        return connection.find("keep-alive") == std::string::npos;
    return connection.find("close") != std::string::npos;
}

class BareHandler : public Http::Handler {
  public:
    HTTP_PROTOTYPE(BareHandler)

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        const bool close = wants_close(request);
        auto& headers = writer.headers();
        headers.remove<Http::Header::Connection>();
        headers.add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                    : Http::ConnectionControl::KeepAlive);
        auto peer = writer.peer();
        auto sent = writer.send(Http::Code::Ok, kBody, MIME(Application, Json));
        if (close && peer) {
            sent.then([peer](ssize_t) { ::shutdown(peer->fd(), SHUT_RDWR); },
                      [peer](std::exception_ptr) { ::shutdown(peer->fd(), SHUT_RDWR); });
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: bare_handler HOST PORT THREADS\n");
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Http::Endpoint endpoint(Address(argv[1], Port(static_cast<uint16_t>(std::atoi(argv[2])))));
    endpoint.init(Http::Endpoint::options()
                      .threads(std::atoi(argv[3]))
                      .flags(Tcp::Options::ReuseAddr)
                      .maxRequestSize(1024 * 1024));
    endpoint.setHandler(Http::make_handler<BareHandler>());
    endpoint.serveThreaded();
    int received = 0;
    sigwait(&signals, &received);
    endpoint.shutdown();
    return 0;
}
