// Assertions on verifyd's responses as the contract (§1, §2) defines them: the success
// and error envelopes, the error catalog, request ids, timestamps; and small helpers the
// test files share (phone numbers, JSON searches, rate-window timing). They use Catch2
// macros, so they may only be called from inside a running test case.
// Not for: starting processes or sending requests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "support/http_client.hpp"

namespace verifyd_test {

// The catalog's `type` for a code (§2), or an empty string for a code not in it.
std::string catalog_type(int code);

// Requires the error envelope with this HTTP status, integer code and the catalog's type,
// request ids that agree (error, meta, X-Request-Id), and for 4029, 4043 and 503 a
// `retry_after` ≥ 1 equal to the Retry-After header. Returns the `error` object.
nlohmann::json require_error(const HttpResponse& response, int http_status, int code);
// Requires the success envelope with this HTTP status; returns `data`.
nlohmann::json require_success(const HttpResponse& response, int http_status = 200);
// Requires error.details[field] to be a non-empty list of strings; returns them joined.
std::string require_detail(const nlohmann::json& error, const std::string& field);

// RFC 3339 in UTC with a Z suffix, e.g. 2026-11-23T10:00:00Z (fractions allowed).
bool is_rfc3339_utc(const std::string& text);
// Unix seconds of such a timestamp.
std::optional<int64_t> parse_rfc3339_utc(const std::string& text);
// A generated request id: `req_` and then some URL-safe characters.
bool is_generated_request_id(const std::string& id);

// The sum of the Prometheus samples of metric `name` (in /metrics text) whose labels
// include every one of `labels`; nothing when no sample matches.
std::optional<double> metric_value(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels = {});

// The value at a JSON pointer ("/a/b"), or null when there is none.
nlohmann::json json_at(const nlohmann::json& value, const std::string& pointer);

// Whether any object in `value`, at any depth, has a member called `name`.
bool contains_key(const nlohmann::json& value, const std::string& name);

// +1 415 555 nnnn: libphonenumber 8.12 takes all 10000 as valid FIXED_LINE_OR_MOBILE.
std::string us_number(int n);
// The bytes of a POST /verify/send to `to` with API key `key`, as a raw client writes them.
std::string send_request_bytes(const std::string& key, const std::string& to);
// A code of the same length that is certainly not `code`.
std::string wrong_code(const std::string& code);

// Polls `ready` every 20 ms until it holds, at most `timeout`; whether it did.
bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// A sandbox message's delivery status before or after it is simulated as delivered
// (queued, then sent after 200 ms, delivered after 600 ms).
bool is_sandbox_delivery(const std::string& status);
// A GB mobile: libphonenumber's example number.
inline constexpr const char* kGbMobile = "+447400123456";

// Sleeps past the next multiple of `window_seconds` of the wall clock when it is less
// than `margin_seconds` away, so that a limit counted in windows aligned to the clock
// cannot reset in the middle of a test.
void avoid_window_edge(int window_seconds, double margin_seconds = 5.0);

}  // namespace verifyd_test
