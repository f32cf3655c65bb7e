// The pipelined Redis connections of redis_lane.hpp and the thread that serves them. The
// thread owns each lane's hiredis context and everything in flight; other threads only
// append to a lane's `handed_over` and wake the thread, which polls all its lanes'
// connections at once. Replies come back in the order commands were written, so the
// commands in flight are a queue. With VERIFYD_REDIS_WAIT_REPLICAS one WAIT follows the
// changes written since the last one, and only once that last one has answered (a group
// commit: while a WAIT blocks the connection, every change that arrives meanwhile shares
// the next); the changes' replies are held until their WAIT answers.
//
// Why not hiredis's async API (redisAsyncContext), which also pipelines: its callbacks
// are answered one reply at a time with no say over what goes out between them, and the
// lane needs exactly that say. A WAIT must be written after the changes of a batch and
// before the next one, with the changes' replies held back until it answers; a call to a
// function Redis no longer has must load the library and go again, before the caller
// hears anything; a command Redis sat on too long must fail everything behind it at
// once. Owning the queue of callbacks (in_flight) makes each of these a few lines here.
#include "verifyd/redis_lane.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "verifyd/log.hpp"
#include "verifyd/lua_scripts.hpp"
#include "verifyd/metrics.hpp"

namespace verifyd {
namespace {

using Clock = std::chrono::steady_clock;

ApiError not_replicated() {
    return make_unavailable(ErrorCode::InternalError,
                            "The change is not yet on enough replicas to survive a failover. "
                            "Retry shortly.",
                            1);
}

}  // namespace

struct RedisLaneThread::Impl {
    int wake = -1;

    std::mutex mutex;
    std::condition_variable lane_stopped;
    std::vector<RedisLane::Impl*> lanes;  // the lanes it serves, in the order they came
    bool woken = false;  // a wake-up is pending: commands or a stop were handed over
    bool stopping = false;

    // The thread whose loop this is, if any: a callback that calls Redis again (a send's
    // guard decision, then the send) hands its command over without a lock or a wake-up.
    static thread_local Impl* current;

    // The thread's alone.
    std::vector<RedisLane::Impl*> serving;         // `lanes` as of the last look
    std::vector<RedisLane::Impl*> with_callbacks;  // lanes whose from_callbacks is not empty
    std::vector<pollfd> polled;
    std::thread thread;

    Impl() {
        wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        thread = std::thread([this] { serve(); });
    }

    ~Impl() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stopping = true;
            wake_up();
        }
        thread.join();
        if (wake >= 0) close(wake);
    }

    // With the mutex held. One wake-up covers everything handed over until the thread looks.
    void wake_up() {
        if (woken) return;
        woken = true;
        const uint64_t one = 1;
        if (write(wake, &one, sizeof one) < 0 && errno != EAGAIN)
            log_event(LogLevel::Error, "redis lane cannot be woken", {{"errno", errno}});
    }

    void serve();
    bool take_handed_over();
    void poll_lanes();
    void write_from_callbacks();
};

thread_local RedisLaneThread::Impl* RedisLaneThread::Impl::current = nullptr;

RedisLaneThread::RedisLaneThread() : impl_(std::make_unique<Impl>()) {}

RedisLaneThread::~RedisLaneThread() = default;

struct RedisLane::Impl {
    struct Pending {
        LaneCommand command;
        ReplyCallback done;
        bool resent = false;  // once, after the library was found missing and loaded again
    };
    // A command written and not yet answered: a caller's, or one of the lane's own (the
    // WAIT of a batch, a FUNCTION LOAD, or the ASKING before a redirected command).
    enum class Own { None, Wait, LoadLibrary, Asking };
    struct InFlight {
        std::optional<Pending> pending;
        Own own = Own::None;
        Clock::time_point written;
    };

    RedisEndpoint endpoint;
    int timeout_ms;
    Metrics* metrics;
    std::shared_ptr<RedisLaneThread> owner;

    // Under loop()->mutex.
    std::vector<Pending> handed_over;
    bool stop_requested = false;
    bool stopped = false;  // the thread has answered everything and forgotten the lane

    // The thread's alone.
    std::vector<Pending> from_callbacks;
    bool retired = false;  // stopped, as the thread knows it
    redisContext* context = nullptr;
    Reconnector reconnector;
    bool output_pending = false;
    bool batch_needs_wait = false;
    bool wait_in_flight = false;
    bool library_load_in_flight = false;
    std::deque<InFlight> in_flight;
    Clock::time_point front_since{};
    std::vector<std::pair<Pending, ReplyHandle>> awaiting_replicas;

    Impl(const RedisEndpoint& endpoint_in, int timeout, Metrics* metrics_in,
         std::shared_ptr<RedisLaneThread> thread)
        : endpoint(endpoint_in),
          timeout_ms(timeout),
          metrics(metrics_in),
          owner(thread ? std::move(thread) : std::make_shared<RedisLaneThread>()) {
        std::lock_guard<std::mutex> lock(loop()->mutex);
        loop()->lanes.push_back(this);
    }

    RedisLaneThread::Impl* loop() const { return owner->impl_.get(); }

    ~Impl() { stop(); }

    void submit(LaneCommand command, ReplyCallback done) {
        if (RedisLaneThread::Impl::current == loop()) {
            if (retired) return answer(done, Result<ReplyHandle>{store_unavailable(), nullptr});
            if (from_callbacks.empty()) loop()->with_callbacks.push_back(this);
            from_callbacks.push_back({std::move(command), std::move(done)});
            return;
        }
        {
            std::lock_guard<std::mutex> lock(loop()->mutex);
            if (!stop_requested) {
                handed_over.push_back({std::move(command), std::move(done)});
                loop()->wake_up();
                return;
            }
        }
        answer(done, Result<ReplyHandle>{store_unavailable(), nullptr});
    }

    void stop() {
        std::unique_lock<std::mutex> lock(loop()->mutex);
        if (!stop_requested) {
            stop_requested = true;
            loop()->wake_up();
        }
        loop()->lane_stopped.wait(lock, [this] { return stopped; });
    }

    // On the thread, once the lane is out of its list: everything still to answer is
    // answered 503, and so is every command a callback hands over from now on.
    void retire(std::vector<Pending> taken) {
        retired = true;
        for (Pending& pending : taken) fail(pending, store_unavailable());
        drop_connection();
        while (!from_callbacks.empty()) {
            auto left = std::move(from_callbacks);
            from_callbacks.clear();
            for (Pending& pending : left) fail(pending, store_unavailable());
        }
        auto& waiting = loop()->with_callbacks;
        waiting.erase(std::remove(waiting.begin(), waiting.end(), this), waiting.end());
    }

    // A callback that throws must not take the lane down with it.
    static void answer(const ReplyCallback& done, Result<ReplyHandle> result) {
        try {
            done(std::move(result));
        } catch (const std::exception& e) {
            log_event(LogLevel::Error, "redis reply callback failed", {{"error", e.what()}});
        }
    }

    void fail(Pending& pending, ApiError error) {
        if (metrics) metrics->count_redis_error();
        answer(pending.done, Result<ReplyHandle>{std::move(error), nullptr});
    }

    // The commands the callbacks handed over, written at once.
    void write_from_callbacks() {
        auto taken = std::move(from_callbacks);
        from_callbacks.clear();
        write_batch(taken);
        if (context && output_pending) flush();
    }

    // Writes `taken`, connecting first if need be, and the batch's WAIT if it needs one.
    void write_batch(std::vector<Pending>& taken) {
        for (Pending& pending : taken) {
            if (!context && !connect()) {
                fail(pending, store_unavailable());
                continue;
            }
            write_command(std::move(pending));
        }
        end_batch();
    }

    bool connect() {
        context = reconnector.open(endpoint, timeout_ms);
        if (!context) return false;
        // From here on the lane never blocks on the connection: it polls.
        context->flags &= ~REDIS_BLOCK;
        fcntl(context->fd, F_SETFL, fcntl(context->fd, F_GETFL) | O_NONBLOCK);
        return true;
    }

    void write_command(Pending pending) {
        if (pending.command.asking) {
            const char* argv[] = {"ASKING"};
            const size_t lengths[] = {6};
            redisAppendCommandArgv(context, 1, argv, lengths);
            push_in_flight(std::nullopt, Own::Asking);
        }
        const std::string wire = encode_command(pending.command.args);
        redisAppendFormattedCommand(context, wire.data(), wire.size());
        if (pending.command.must_replicate && endpoint.wait_replicas > 0) batch_needs_wait = true;
        push_in_flight(std::move(pending), Own::None);
    }

    // Once for all the calls that found the library missing: the calls written after it
    // find it loaded.
    void write_library_load() {
        if (library_load_in_flight) return;
        library_load_in_flight = true;
        const LuaLibrary& library = lua_library();
        const char* argv[] = {"FUNCTION", "LOAD", library.source};
        const size_t lengths[] = {8, 4, std::char_traits<char>::length(library.source)};
        redisAppendCommandArgv(context, 3, argv, lengths);
        push_in_flight(std::nullopt, Own::LoadLibrary);
    }

    void push_in_flight(std::optional<Pending> pending, Own own) {
        auto now = Clock::now();
        if (in_flight.empty()) front_since = now;
        in_flight.push_back({std::move(pending), own, now});
        output_pending = true;
    }

    void end_batch() {
        if (!context || !batch_needs_wait || wait_in_flight) return;
        batch_needs_wait = false;
        wait_in_flight = true;
        const std::string replicas = std::to_string(endpoint.wait_replicas);
        const std::string wait_ms = std::to_string(endpoint.wait_timeout_ms);
        const char* argv[] = {"WAIT", replicas.c_str(), wait_ms.c_str()};
        const size_t lengths[] = {4, replicas.size(), wait_ms.size()};
        redisAppendCommandArgv(context, 3, argv, lengths);
        push_in_flight(std::nullopt, Own::Wait);
    }

    void flush() {
        int all_written = 0;
        if (redisBufferWrite(context, &all_written) != REDIS_OK) {
            drop_connection();
            return;
        }
        output_pending = !all_written;
    }

    // Reads what Redis has sent and answers, in order, the commands it belongs to. A
    // reply pairs with the oldest command in flight because Redis answers a connection's
    // commands in the order they were written; a batch's WAIT releases the changes held
    // for it, and a FUNCTION LOAD of the lane's own answers nobody. Any surprise (a reply to
    // nothing, an error that spoils the connection) drops the connection, which answers everything
    // still in flight with 503: their fate is unknown, and only a retry can learn it.
    void receive() {
        if (redisBufferRead(context) != REDIS_OK) {
            drop_connection();
            return;
        }
        bool reconnect = false;
        void* raw = nullptr;
        while (context && redisGetReplyFromReader(context, &raw) == REDIS_OK && raw) {
            ReplyHandle reply(static_cast<redisReply*>(raw));
            raw = nullptr;
            if (in_flight.empty()) {
                reconnect = true;  // a reply to nothing: the stream is out of step
                break;
            }
            InFlight item = std::move(in_flight.front());
            in_flight.pop_front();
            // The next command's time to answer starts now, not when it was written:
            // behind a slow WAIT, it could not have been answered any earlier.
            front_since = Clock::now();
            if (metrics && item.own == Own::None)
                metrics->observe_redis_command(
                    std::chrono::duration<double>(front_since - item.written).count());
            if (item.own == Own::Wait) {
                wait_in_flight = false;
                reconnect |= !answer_replicated(std::move(reply));
                continue;
            }
            if (item.own == Own::Asking) continue;  // its command's reply says how it went
            if (item.own == Own::LoadLibrary) {
                library_load_in_flight = false;
                if (library_loaded(reply.get()))
                    log_event(LogLevel::Warn,
                              "redis had lost verifyd's function library: loaded again",
                              {{"library", lua_library().name}});
                continue;
            }
            reconnect |= !answer_reply(std::move(*item.pending), std::move(reply));
        }
        end_batch();
        if (reconnect) drop_connection();
    }

    // False when the connection should be given up.
    bool answer_reply(Pending pending, ReplyHandle reply) {
        if (reply->type == REDIS_REPLY_ERROR) {
            const std::string message = reply_string(reply.get());
            const auto& args = pending.command.args;
            if (is_function_missing(message) && !pending.resent && args[0] == "FCALL") {
                pending.resent = true;
                write_library_load();
                write_command(std::move(pending));
                return true;
            }
            if (metrics) metrics->count_redis_error();
            const std::string& what = args[0] == "FCALL" ? args[1] : args[0];
            answer(pending.done,
                   Result<ReplyHandle>{redis_error_reply(what, message), std::move(reply)});
            return !error_needs_new_connection(message);
        }
        if (pending.command.must_replicate && endpoint.wait_replicas > 0) {
            awaiting_replicas.emplace_back(std::move(pending), std::move(reply));
            return true;
        }
        answer(pending.done, Result<ReplyHandle>{std::nullopt, std::move(reply)});
        return true;
    }

    // The WAIT after a batch of changes answers them all. False when too few replicas
    // have them: the master may have lost its replicas to a failover, so ask again.
    bool answer_replicated(ReplyHandle reply) {
        if (awaiting_replicas.empty()) return true;
        const bool replicated =
            reply->type == REDIS_REPLY_INTEGER && reply->integer >= endpoint.wait_replicas;
        auto waiting = std::move(awaiting_replicas);
        awaiting_replicas.clear();
        for (auto& [pending, change_reply] : waiting) {
            if (replicated)
                answer(pending.done, Result<ReplyHandle>{std::nullopt, std::move(change_reply)});
            else
                answer(pending.done, Result<ReplyHandle>{not_replicated(), nullptr});
        }
        return replicated;
    }

    // Redis must answer the oldest command within the timeout of its turn (a WAIT
    // within its own timeout too); otherwise the connection is given up.
    void expire() {
        if (in_flight.empty()) return;
        if (Clock::now() < deadline_of_front()) return;
        log_event(LogLevel::Warn, "redis did not answer in time",
                  {{"timeout_ms", timeout_ms}, {"in_flight", in_flight.size()}});
        drop_connection();
    }

    Clock::time_point deadline_of_front() const {
        const InFlight& front = in_flight.front();
        int allowed_ms = timeout_ms + (front.own == Own::Wait ? endpoint.wait_timeout_ms : 0);
        return std::max(front.written, front_since) + std::chrono::milliseconds(allowed_ms);
    }

    int poll_timeout_ms() const {
        if (in_flight.empty()) return -1;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_of_front() -
                                                                          Clock::now());
        return static_cast<int>(std::max<long long>(0, left.count()) + 1);
    }

    // Everything in flight is answered 503: its fate is unknown, and the caller says so.
    void drop_connection() {
        if (context) redisFree(context);
        context = nullptr;
        output_pending = false;
        batch_needs_wait = false;
        wait_in_flight = false;
        library_load_in_flight = false;
        auto lost = std::move(in_flight);
        in_flight.clear();
        auto waiting = std::move(awaiting_replicas);
        awaiting_replicas.clear();
        for (InFlight& item : lost)
            if (item.pending) fail(*item.pending, store_unavailable());
        for (auto& entry : waiting) fail(entry.first, store_unavailable());
    }
};

void RedisLaneThread::Impl::serve() {
    // Named for `top -H` and the tests: how many there are is VERIFYD_THREADS / 4, however
    // many primaries a cluster has.
    pthread_setname_np(pthread_self(), "redis-lanes");
    current = this;
    while (take_handed_over()) poll_lanes();
    current = nullptr;
}

// Writes what other threads handed over and retires the lanes asked to stop; false once
// the thread is to end (its last lane is gone).
bool RedisLaneThread::Impl::take_handed_over() {
    std::vector<std::pair<RedisLane::Impl*, std::vector<RedisLane::Impl::Pending>>> taken;
    std::vector<std::pair<RedisLane::Impl*, std::vector<RedisLane::Impl::Pending>>> retiring;
    bool end;
    {
        std::lock_guard<std::mutex> lock(mutex);
        woken = false;
        end = stopping;
        for (auto lane = lanes.begin(); lane != lanes.end();) {
            auto& into = (*lane)->stop_requested ? retiring : taken;
            if ((*lane)->stop_requested || !(*lane)->handed_over.empty())
                into.emplace_back(*lane, std::move((*lane)->handed_over));
            (*lane)->handed_over.clear();
            lane = (*lane)->stop_requested ? lanes.erase(lane) : lane + 1;
        }
        serving = lanes;
    }
    for (auto& [lane, commands] : retiring) {
        lane->retire(std::move(commands));
        std::lock_guard<std::mutex> lock(mutex);
        lane->stopped = true;
    }
    if (!retiring.empty()) lane_stopped.notify_all();
    for (auto& [lane, commands] : taken) {
        lane->write_batch(commands);
        if (lane->context && lane->output_pending) lane->flush();
    }
    write_from_callbacks();
    return !end;
}

// Waits until a lane's connection has something to read or can take what is left to
// write, a command's time runs out, or another thread hands something over.
void RedisLaneThread::Impl::poll_lanes() {
    polled.assign(1, pollfd{wake, POLLIN, 0});
    int timeout_ms = -1;
    for (RedisLane::Impl* lane : serving) {
        pollfd entry{-1, 0, 0};
        if (lane->context) {
            entry.fd = lane->context->fd;
            entry.events = static_cast<short>(POLLIN | (lane->output_pending ? POLLOUT : 0));
        }
        polled.push_back(entry);
        const int lane_timeout = lane->poll_timeout_ms();
        if (lane_timeout >= 0 && (timeout_ms < 0 || lane_timeout < timeout_ms))
            timeout_ms = lane_timeout;
    }
    poll(polled.data(), polled.size(), timeout_ms);
    if (polled[0].revents & POLLIN) {
        uint64_t count;
        if (read(wake, &count, sizeof count) < 0 && errno != EAGAIN)
            log_event(LogLevel::Error, "redis lane wake-up lost", {{"errno", errno}});
    }
    for (size_t i = 0; i < serving.size(); ++i) {
        RedisLane::Impl* lane = serving[i];
        if (lane->context && lane->output_pending) lane->flush();
        if (lane->context && (polled[i + 1].revents & (POLLIN | POLLERR | POLLHUP)))
            lane->receive();
        lane->expire();
    }
    write_from_callbacks();
}

// The commands the callbacks just answered handed over, to any lane of the thread;
// writing them may answer more callbacks (a lane that cannot connect), which hand over more.
void RedisLaneThread::Impl::write_from_callbacks() {
    while (!with_callbacks.empty()) {
        auto lanes_now = std::move(with_callbacks);
        with_callbacks.clear();
        for (RedisLane::Impl* lane : lanes_now) lane->write_from_callbacks();
    }
}

RedisLane::RedisLane(const RedisEndpoint& endpoint, int timeout_ms, Metrics* metrics,
                     std::shared_ptr<RedisLaneThread> thread)
    : impl_(std::make_unique<Impl>(endpoint, timeout_ms, metrics, std::move(thread))) {}

RedisLane::~RedisLane() = default;

void RedisLane::submit(LaneCommand command, ReplyCallback done) {
    impl_->submit(std::move(command), std::move(done));
}

void RedisLane::stop() {
    impl_->stop();
}

bool RedisLane::is_current_thread() const {
    return RedisLaneThread::Impl::current == impl_->loop();
}

}  // namespace verifyd
