// The structured logger: a level filter and one locked write per line, so lines from
// different threads never interleave.
#include "verifyd/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

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
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    static std::mutex write_mutex;
    std::lock_guard<std::mutex> lock(write_mutex);
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
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
