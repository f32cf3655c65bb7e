// The pipelined Redis connection of redis_lane.hpp. The lane's thread owns the hiredis
// context and everything in flight; other threads only append to `handed_over` and wake
// it. Replies come back in the order commands were written, so the commands in flight
// are a queue. With VERIFYD_REDIS_WAIT_REPLICAS one WAIT follows the changes written
// since the last one, and only once that last one has answered (a group commit: while a
// WAIT blocks the connection, every change that arrives meanwhile shares the next); the
// changes' replies are held until their WAIT answers.
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
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
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

struct RedisLane::Impl {
    struct Pending {
        LaneCommand command;
        ReplyCallback done;
        bool resent = false;  // once, after the library was found missing and loaded again
    };
    // A command written and not yet answered: a caller's, or one of the lane's own (the
    // WAIT of a batch, or a FUNCTION LOAD).
    enum class Own { None, Wait, LoadLibrary, Asking };
    struct InFlight {
        std::optional<Pending> pending;
        Own own = Own::None;
        Clock::time_point written;
    };

    RedisEndpoint endpoint;
    int timeout_ms;
    Metrics* metrics;
    int wake = -1;

    std::mutex mutex;
    std::vector<Pending> handed_over;
    bool stopping = false;

    // The lane whose thread this is, if any: a callback that calls Redis again (a send's
    // guard decision, then the send) hands its command over without a lock or a wake-up.
    static thread_local Impl* current;
    std::vector<Pending> from_callbacks;

    // The lane thread's alone.
    redisContext* context = nullptr;
    Reconnector reconnector;
    bool output_pending = false;
    bool batch_needs_wait = false;
    bool wait_in_flight = false;
    bool library_load_in_flight = false;
    std::deque<InFlight> in_flight;
    Clock::time_point front_since{};
    std::vector<std::pair<Pending, ReplyHandle>> awaiting_replicas;
    std::thread thread;

    Impl(const RedisEndpoint& endpoint_in, int timeout, Metrics* metrics_in)
        : endpoint(endpoint_in), timeout_ms(timeout), metrics(metrics_in) {
        wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        thread = std::thread([this] { serve(); });
    }

    ~Impl() {
        stop();
        if (wake >= 0) close(wake);
    }

    void submit(LaneCommand command, ReplyCallback done) {
        if (current == this) {
            from_callbacks.push_back({std::move(command), std::move(done)});
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (!stopping) {
                // A non-empty queue has woken the lane already, and it takes all at once.
                if (handed_over.empty()) notify();
                handed_over.push_back({std::move(command), std::move(done)});
                return;
            }
        }
        answer(done, Result<ReplyHandle>{store_unavailable(), nullptr});
    }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (stopping) return;
            stopping = true;
            notify();
        }
        if (thread.joinable()) thread.join();
    }

    void notify() {
        const uint64_t one = 1;
        if (write(wake, &one, sizeof one) < 0 && errno != EAGAIN)
            log_event(LogLevel::Error, "redis lane cannot be woken", {{"errno", errno}});
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

    void serve() {
        current = this;
        for (;;) {
            pollfd fds[2] = {{wake, POLLIN, 0}, {-1, 0, 0}};
            if (context) {
                fds[1].fd = context->fd;
                fds[1].events = static_cast<short>(POLLIN | (output_pending ? POLLOUT : 0));
            }
            poll(fds, 2, poll_timeout_ms());
            if (fds[0].revents & POLLIN) {
                uint64_t count;
                if (read(wake, &count, sizeof count) < 0 && errno != EAGAIN)
                    log_event(LogLevel::Error, "redis lane wake-up lost", {{"errno", errno}});
                if (!take_handed_over()) break;
            }
            if (context && output_pending) flush();
            if (context && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) receive();
            expire();
            write_from_callbacks();
        }
        // From here on a callback's command is answered at once (submit while stopping).
        current = nullptr;
        drop_connection();
        while (!from_callbacks.empty()) {
            auto left = std::move(from_callbacks);
            from_callbacks.clear();
            for (Pending& pending : left) fail(pending, store_unavailable());
        }
    }

    // The commands the callbacks just answered handed over, written at once; failing
    // one may hand over more.
    void write_from_callbacks() {
        while (!from_callbacks.empty()) {
            auto taken = std::move(from_callbacks);
            from_callbacks.clear();
            write_batch(taken);
            if (context && output_pending) flush();
        }
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

    // Writes the commands handed over; false once the lane is stopping.
    bool take_handed_over() {
        std::vector<Pending> taken;
        bool stop_now;
        {
            std::lock_guard<std::mutex> lock(mutex);
            taken.swap(handed_over);
            stop_now = stopping;
        }
        if (stop_now) {
            for (Pending& pending : taken) fail(pending, store_unavailable());
            return false;
        }
        write_batch(taken);
        return true;
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

thread_local RedisLane::Impl* RedisLane::Impl::current = nullptr;

RedisLane::RedisLane(const RedisEndpoint& endpoint, int timeout_ms, Metrics* metrics)
    : impl_(std::make_unique<Impl>(endpoint, timeout_ms, metrics)) {}

RedisLane::~RedisLane() = default;

void RedisLane::submit(LaneCommand command, ReplyCallback done) {
    impl_->submit(std::move(command), std::move(done));
}

void RedisLane::stop() {
    impl_->stop();
}

bool RedisLane::is_current_thread() const {
    return Impl::current == impl_.get();
}

}  // namespace verifyd
