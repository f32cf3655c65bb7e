// Structured logs: one JSON object per line on stderr, with "time", "level" and "msg",
// filtered by VERIFYD_LOG_LEVEL. Callers pass phone numbers through mask_phone and
// never pass a code, a key or a secret. Not for: metrics (metrics.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace verifyd {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// "debug", "info", "warn" or "error".
std::optional<LogLevel> parse_log_level(const std::string& name);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Writes {"time": …, "level": …, "msg": message, …fields} as one line, atomically.
void log_event(LogLevel level, const std::string& message,
               const nlohmann::json& fields = nlohmann::json::object());

// "+447912345623" → "+4479******23": enough to tell numbers apart in an incident,
// not enough to call anyone.
std::string mask_phone(const std::string& number);

}  // namespace verifyd
