// bench/bare_handler: the framework's ceilings for verifyd's benchmark (bench/run.sh).
// A Pistache 0.0.5 endpoint whose handler answers every request with one constant JSON
// body, configured like verifyd's (service/http_server.cpp: same thread count, options
// and keep-alive fix), so that verifyd's throughput can be read as a share of what the
// framework alone reaches on this machine.
//
// Given a Redis port and a command, it answers each request only after Redis has run
// that command once for it, the commands of all requests written back to back on one
// connection by a thread of its own and the answers sent from there, as verifyd's lanes
// do (service/redis_lane.cpp): what Pistache and one Redis call per request reach when
// nothing else is done.
//
// Usage: bare_handler HOST PORT THREADS [REDIS_PORT COMMAND ARG…]
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/peer.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace Pistache;

// About the size of verifyd's check response, so both write similar bytes per request.
const std::string kBody =
    R"({"success":true,"data":{"id":"vrf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)"
    R"("to":"+14155552671","status":"pending","verified":false,"attempts_remaining":99},)"
    R"("meta":{"request_id":"req_AAAAAAAAAAAAAAAA","timestamp":"2026-01-01T00:00:00Z",)"
    R"("version":"v1"}})";

// The same keep-alive rule as service/http_server.cpp.
bool wants_close(const Http::Request& request) {
    auto connection = request.headers().tryGet<Http::Header::Connection>();
    const auto control = connection ? connection->control() : Http::ConnectionControl::Ext;
    if (request.version() == Http::Version::Http10)
        return control != Http::ConnectionControl::KeepAlive;
    return control == Http::ConnectionControl::Close;
}

void answer(Http::ResponseWriter& writer, bool close) {
    auto peer = writer.peer();
    auto sent = writer.send(Http::Code::Ok, kBody, MIME(Application, Json));
    if (close && peer) {
        sent.then([peer](ssize_t) { ::shutdown(peer->fd(), SHUT_RDWR); },
                  [peer](std::exception_ptr) { ::shutdown(peer->fd(), SHUT_RDWR); });
    }
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "bare_handler: %s\n", what);
    std::exit(1);
}

// One Redis connection, served by a thread of its own: requests handed over are written
// back to back as they come, and each is answered when its reply arrives.
class RedisLane {
  public:
    RedisLane(int port, std::vector<std::string> command) : command_(std::move(command)) {
        context_ = redisConnect("127.0.0.1", port);
        if (!context_ || context_->err) fail("cannot connect to Redis");
        // From here on the connection is read and written without blocking.
        context_->flags &= ~REDIS_BLOCK;
        int flags = fcntl(context_->fd, F_GETFL);
        fcntl(context_->fd, F_SETFL, flags | O_NONBLOCK);
        wake_ = eventfd(0, EFD_NONBLOCK);
        for (const auto& arg : command_) {
            argv_.push_back(arg.data());
            lengths_.push_back(arg.size());
        }
        thread_ = std::thread([this] { serve(); });
        thread_.detach();
    }

    void submit(std::shared_ptr<Http::ResponseWriter> writer, bool close) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            handed_over_.push_back({std::move(writer), close});
        }
        const uint64_t one = 1;
        if (write(wake_, &one, sizeof one) < 0) fail("eventfd write failed");
    }

  private:
    struct Waiting {
        std::shared_ptr<Http::ResponseWriter> writer;
        bool close;
    };

    bool output_pending() const { return context_->obuf[0] != '\0'; }

    void serve() {
        std::vector<Waiting> taken;
        for (;;) {
            pollfd fds[2] = {
                {wake_, POLLIN, 0},
                {context_->fd, static_cast<short>(POLLIN | (output_pending() ? POLLOUT : 0)), 0}};
            if (poll(fds, 2, -1) < 0) continue;
            if (fds[0].revents & POLLIN) {
                uint64_t count;
                if (read(wake_, &count, sizeof count) < 0) continue;
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    taken.swap(handed_over_);
                }
                for (Waiting& waiting : taken) {
                    redisAppendCommandArgv(context_, static_cast<int>(argv_.size()), argv_.data(),
                                           lengths_.data());
                    in_flight_.push_back(std::move(waiting));
                }
                taken.clear();
            }
            int written_all = 0;
            while (output_pending() && !written_all)
                if (redisBufferWrite(context_, &written_all) != REDIS_OK)
                    fail("Redis write failed");
            if (fds[1].revents & POLLIN) {
                if (redisBufferRead(context_) != REDIS_OK) fail("Redis read failed");
                void* reply = nullptr;
                while (redisGetReplyFromReader(context_, &reply) == REDIS_OK && reply) {
                    const bool error = static_cast<redisReply*>(reply)->type == REDIS_REPLY_ERROR;
                    freeReplyObject(reply);
                    reply = nullptr;
                    if (error) fail("Redis answered an error");
                    Waiting waiting = std::move(in_flight_.front());
                    in_flight_.pop_front();
                    // A client that left meanwhile (wrk closes its connections when it
                    // stops) makes Pistache throw: nobody is left to answer.
                    try {
                        answer(*waiting.writer, waiting.close);
                    } catch (const std::exception&) {
                    }
                }
            }
        }
    }

    std::vector<std::string> command_;
    std::vector<const char*> argv_;
    std::vector<size_t> lengths_;
    redisContext* context_ = nullptr;
    int wake_ = -1;
    std::mutex mutex_;
    std::vector<Waiting> handed_over_;
    std::deque<Waiting> in_flight_;  // the serving thread's alone
    std::thread thread_;
};

RedisLane* redis_lane = nullptr;

class BareHandler : public Http::Handler {
  public:
    HTTP_PROTOTYPE(BareHandler)

    void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
        const bool close = wants_close(request);
        auto& headers = writer.headers();
        headers.remove<Http::Header::Connection>();
        headers.add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                    : Http::ConnectionControl::KeepAlive);
        if (redis_lane)
            redis_lane->submit(std::make_shared<Http::ResponseWriter>(std::move(writer)), close);
        else
            answer(writer, close);
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc < 6) {
        std::fprintf(stderr, "usage: bare_handler HOST PORT THREADS [REDIS_PORT COMMAND ARG...]\n");
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);
    if (argc > 4) redis_lane = new RedisLane(std::atoi(argv[4]), {argv + 5, argv + argc});

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
