// The structured logger: a level filter, and lines handed to one writer thread. A
// request's thread only formats its line and appends it to a buffer under a mutex (no
// system call); the writer takes the whole buffer at once and writes it with one
// write(2), so lines never interleave and a busy second costs a few hundred writes, not
// one per request. The buffer is bounded: a line that would exceed it is dropped and counted
// (log_lines_dropped) rather than making requests wait for stderr. Lines in the buffer
// are written before the process exits normally.
#include "verifyd/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

namespace verifyd {
namespace {

std::atomic<int> minimum_level{static_cast<int>(LogLevel::Info)};

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Error:
            return "error";
    }
    return "info";
}

std::string now_rfc3339_millis() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[40];
    size_t length = std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buffer + length, sizeof(buffer) - length, ".%03dZ", static_cast<int>(ms % 1000));
    return buffer;
}

void write_all(int fd, const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
        ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) return;  // stderr is gone: nobody is left to tell
        done += static_cast<size_t>(wrote);
    }
}

class LineWriter {
  public:
    LineWriter() : thread_([this] { run(); }) {}
    ~LineWriter() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void append(const std::string& line) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (pending_.size() + line.size() > kMaxPendingBytes) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            const bool was_empty = pending_.empty();
            pending_ += line;
            ++appended_;
            if (!was_empty) return;  // the writer has been woken already
        }
        wake_.notify_one();
    }

    void flush() {
        std::unique_lock<std::mutex> lock(mutex_);
        const uint64_t target = appended_;
        written_.wait(lock, [&] { return done_ >= target; });
    }

    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  private:
    // About a minute of access log at 100k requests per second would not fit; a few
    // seconds of a stalled stderr do.
    static constexpr size_t kMaxPendingBytes = 16 * 1024 * 1024;
    static constexpr std::chrono::milliseconds kGatherTime{2};

    void run() {
        std::string batch;
        std::unique_lock<std::mutex> lock(mutex_);
        while (true) {
            wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
            if (pending_.empty() && stopping_) return;
            if (!stopping_) {
                // Woken by the first line: let the lines behind it gather, so that a busy
                // second costs a few hundred wake-ups and writes rather than one a request.
                lock.unlock();
                std::this_thread::sleep_for(kGatherTime);
                lock.lock();
            }
            batch.swap(pending_);
            const uint64_t taken = appended_;
            lock.unlock();
            write_all(STDERR_FILENO, batch);
            batch.clear();
            lock.lock();
            done_ = taken;
            written_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable written_;
    std::string pending_;
    uint64_t appended_ = 0;  // lines appended so far
    uint64_t done_ = 0;      // of those, lines written
    bool stopping_ = false;
    std::atomic<uint64_t> dropped_{0};
    std::thread thread_;
};

LineWriter& line_writer() {
    static LineWriter writer;
    return writer;
}

}  // namespace

std::optional<LogLevel> parse_log_level(const std::string& name) {
    for (LogLevel level : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error})
        if (name == level_name(level)) return level;
    return std::nullopt;
}

void set_log_level(LogLevel level) {
    minimum_level = static_cast<int>(level);
}

bool log_enabled(LogLevel level) {
    return static_cast<int>(level) >= minimum_level;
}

void log_event(LogLevel level, const std::string& message, const nlohmann::json& fields) {
    if (!log_enabled(level)) return;
    nlohmann::json line = {
        {"time", now_rfc3339_millis()}, {"level", level_name(level)}, {"msg", message}};
    if (fields.is_object())
        for (const auto& item : fields.items()) line[item.key()] = item.value();
    line_writer().append(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                         "\n");
}

void log_fields(LogLevel level, const std::string& message, const std::string& fields) {
    if (!log_enabled(level)) return;
    std::string line = "{\"time\":\"";
    line += now_rfc3339_millis();
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":";
    append_json_string(line, message);
    if (!fields.empty()) {
        line += ',';
        line += fields;
    }
    line += "}\n";
    line_writer().append(line);
}

void append_json_string(std::string& out, const std::string& text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
        return;
    }
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void flush_log() {
    line_writer().flush();
}

uint64_t log_lines_dropped() {
    return line_writer().dropped();
}

std::string mask_phone(const std::string& number) {
    if (number.size() < 4) return std::string(number.size(), '*');
    const size_t digits = number.size() - (number[0] == '+' ? 1 : 0);
    const size_t keep_front = (number[0] == '+' ? 1 : 0) + (digits >= 9 ? 4 : 2);
    const size_t keep_back = 2;
    if (number.size() <= keep_front + keep_back) return number.substr(0, 1) + "***";
    return number.substr(0, keep_front) + std::string(number.size() - keep_front - keep_back, '*') +
           number.substr(number.size() - keep_back);
}

}  // namespace verifyd
