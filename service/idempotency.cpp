// Idempotency-Key: format, fingerprint, names and the encoding of recorded refusals.
#include "verifyd/idempotency.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "verifyd/crypto.hpp"

namespace verifyd {

bool is_idempotency_key(const std::string& key) {
    return !key.empty() && key.size() <= 255 && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

std::string request_fingerprint_of(const std::string& method, const std::string& path,
                                   const std::vector<std::pair<std::string, std::string>>& query,
                                   const std::string& body) {
    std::string text = method + ' ' + path + '?';
    for (const auto& [name, value] : query) text += name + '=' + value + '&';
    text += '\n';
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    // nlohmann keeps object keys sorted, so a dump is one spelling per parsed body.
    text += parsed.is_discarded()
                ? body
                : parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return request_fingerprint(text);
}

Idempotency make_idempotency(const HashKey& number_key, const Caller& caller,
                             const std::string& endpoint, const std::string& key,
                             std::string fingerprint, int ttl_seconds) {
    Idempotency idempotency;
    idempotency.name = name_tag(number_key, "verifyd idempotency",
                                {caller.account, caller.sandbox ? "s" : "l", endpoint, key});
    idempotency.fingerprint = std::move(fingerprint);
    idempotency.ttl_seconds = ttl_seconds;
    return idempotency;
}

bool is_recorded_refusal(const ApiError& error) {
    return error.http_status >= 400 && error.http_status < 500 &&
           error.code != ErrorCode::RateLimitExceeded &&
           error.code != ErrorCode::IdempotencyConflict;
}

std::string encode_refusal(const ApiError& error) {
    return nlohmann::json{{"code", static_cast<int>(error.code)},
                          {"status", error.http_status},
                          {"message", error.message},
                          {"details", error.details}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<ApiError> decode_refusal(const std::string& text) {
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (!json.is_object() || !json["code"].is_number_integer()) return std::nullopt;
    auto code = error_code_from_int(json["code"].get<int>());
    if (!code) return std::nullopt;
    try {
        ApiError error = make_error(*code, json.value("message", std::string()));
        error.http_status = json.value("status", error.http_status);
        error.details = json.value("details", FieldProblems{});
        return error;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

}  // namespace verifyd
