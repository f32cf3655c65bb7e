// Structured logs: one JSON object per line on stderr, with "time", "level" and "msg",
// filtered by VERIFYD_LOG_LEVEL, written by a thread of their own so that no request
// waits for stderr. Callers pass phone numbers through mask_phone and
// never pass a code, a key or a secret. Not for: metrics (metrics.hpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace verifyd {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// "debug", "info", "warn" or "error".
std::optional<LogLevel> parse_log_level(const std::string& name);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Queues {"time": …, "level": …, "msg": message, …fields} as one line; lines are
// written whole and in the order they were queued, within moments.
void log_event(LogLevel level, const std::string& message,
               const nlohmann::json& fields = nlohmann::json::object());
// log_event for a hot path (the access log): `fields` is already JSON, the members of
// an object without its braces (`"status":200,"route":"/x"`), built with
// append_json_string; a json object per line would cost more than the line.
void log_fields(LogLevel level, const std::string& message, const std::string& fields);
// Appends `text` as a JSON string: quoted, escaped, invalid UTF-8 replaced.
void append_json_string(std::string& out, const std::string& text);
// Returns once every line queued before the call is written.
void flush_log();
// Lines dropped because stderr fell too far behind (verifyd_log_lines_dropped_total).
uint64_t log_lines_dropped();

// "+447912345623" → "+4479******23": enough to tell numbers apart in an incident,
// not enough to call anyone.
std::string mask_phone(const std::string& number);

}  // namespace verifyd
