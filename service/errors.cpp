// The error catalog table (§2) and the constructors of ApiError.
#include "verifyd/errors.hpp"

#include <algorithm>

namespace verifyd {

const std::vector<ErrorInfo>& error_catalog() {
    static const std::vector<ErrorInfo> catalog = {
        {ErrorCode::InvalidRequest, 400, "invalid_request", "The request is not valid."},
        {ErrorCode::InvalidPhone, 400, "invalid_phone",
         "The phone number is not a valid E.164 number that can receive a code."},
        {ErrorCode::IdempotencyConflict, 409, "idempotency_conflict",
         "The Idempotency-Key was used with a different request."},
        {ErrorCode::MissingApiKey, 401, "missing_api_key",
         "No API key: send Authorization: Bearer <key> or x-api-key."},
        {ErrorCode::InvalidApiKey, 401, "invalid_api_key", "The API key is malformed or unknown."},
        {ErrorCode::RevokedApiKey, 401, "revoked_api_key", "The API key has been revoked."},
        {ErrorCode::ExpiredApiKey, 401, "expired_api_key", "The API key has expired."},
        {ErrorCode::RateLimitExceeded, 429, "rate_limit_exceeded",
         "Too many requests for this API key."},
        {ErrorCode::InsufficientScope, 403, "insufficient_scope",
         "The API key lacks the scope this endpoint needs."},
        {ErrorCode::DestinationBlocked, 403, "destination_blocked",
         "The account's policy does not allow this destination."},
        {ErrorCode::DestinationPaused, 403, "destination_paused",
         "Sends to this number's prefix or country are paused for suspected SMS pumping."},
        {ErrorCode::VerificationNotFound, 404, "verification_not_found", "No such verification."},
        {ErrorCode::VerificationExpired, 410, "verification_expired",
         "The verification has expired. Start a new verification."},
        {ErrorCode::MaxAttemptsExceeded, 429, "max_attempts_exceeded",
         "Too many wrong codes: the verification is locked. Start a new verification."},
        {ErrorCode::OtpRateLimit, 429, "otp_rate_limit", "Too many codes sent to this number."},
        {ErrorCode::MessageNotFound, 404, "message_not_found", "No such message."},
        {ErrorCode::ClientRateLimit, 429, "client_rate_limit",
         "Too many sends for this client_ip or client_id."},
        {ErrorCode::InternalError, 500, "internal_error", "Unexpected error."},
        {ErrorCode::ProviderError, 502, "provider_error", "The delivery provider failed."},
    };
    return catalog;
}

std::optional<ErrorCode> error_code_from_int(int code) {
    for (const auto& info : error_catalog()) {
        if (static_cast<int>(info.code) == code) return info.code;
    }
    return std::nullopt;
}

const ErrorInfo& error_info(ErrorCode code) {
    const auto& catalog = error_catalog();
    auto found = std::find_if(catalog.begin(), catalog.end(),
                              [code](const ErrorInfo& info) { return info.code == code; });
    return found != catalog.end() ? *found : error_info(ErrorCode::InternalError);
}

ApiError make_error(ErrorCode code, std::string message) {
    const ErrorInfo& info = error_info(code);
    ApiError error;
    error.code = code;
    error.http_status = info.http_status;
    error.message = message.empty() ? info.message : std::move(message);
    return error;
}

ApiError make_field_error(ErrorCode code, const std::string& field, std::string problem) {
    ApiError error = make_error(code, field + ": " + problem);
    error.details[field].push_back(std::move(problem));
    return error;
}

ApiError with_status(ApiError error, int http_status) {
    error.http_status = http_status;
    return error;
}

ApiError with_retry_after(ApiError error, int seconds) {
    error.retry_after = std::max(1, seconds);
    return error;
}

ApiError make_unavailable(ErrorCode code, std::string message, int retry_after_seconds) {
    return with_retry_after(with_status(make_error(code, std::move(message)), 503),
                            retry_after_seconds);
}

ApiError store_unavailable() {
    return make_unavailable(ErrorCode::InternalError,
                            "The verification store is unavailable. Retry shortly.", 1);
}

}  // namespace verifyd
