// The error catalog of the API contract (§2): one table maps each code to its HTTP
// status, its type and a default message. Every error response is built from an
// ApiError; nothing else decides a code's status or type.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace verifyd {

enum class ErrorCode : int {
    InvalidRequest = 4000,
    InvalidPhone = 4001,
    IdempotencyConflict = 4009,
    MissingApiKey = 4010,
    InvalidApiKey = 4011,
    RevokedApiKey = 4012,
    ExpiredApiKey = 4013,
    RateLimitExceeded = 4029,
    InsufficientScope = 4030,
    DestinationBlocked = 4031,
    DestinationPaused = 4032,
    VerificationNotFound = 4040,
    VerificationExpired = 4041,
    MaxAttemptsExceeded = 4042,
    OtpRateLimit = 4043,
    MessageNotFound = 4044,
    ClientRateLimit = 4045,
    InternalError = 5000,
    ProviderError = 5001,
};

struct ErrorInfo {
    ErrorCode code;
    int http_status;  // the usual status; some situations override it (see ApiError)
    const char* type;
    const char* message;
};

// The whole catalog, in code order.
const std::vector<ErrorInfo>& error_catalog();
const ErrorInfo& error_info(ErrorCode code);
std::optional<ErrorCode> error_code_from_int(int code);

using FieldProblems = std::map<std::string, std::vector<std::string>>;

struct ApiError {
    ErrorCode code = ErrorCode::InternalError;
    int http_status = 500;
    std::string message;
    int retry_after = 0;  // seconds; 0 = none
    FieldProblems details;
    // The /v2 face's own code (§11) for an error its mapping of `code` does not say, such
    // as a channel Twilio has and verifyd has not (60223); 0 = the mapping's.
    int twilio_code = 0;

    const char* type() const { return error_info(code).type; }
};

// An error with the catalog's status and message, unless given others.
ApiError make_error(ErrorCode code, std::string message = {});
ApiError make_field_error(ErrorCode code, const std::string& field, std::string problem);
ApiError with_status(ApiError error, int http_status);
ApiError with_retry_after(ApiError error, int seconds);

// A 503 with Retry-After: verifyd cannot serve the request now, but will.
ApiError make_unavailable(ErrorCode code, std::string message, int retry_after_seconds);
// Redis could not be reached or answered too slowly: 503, code 5000, retry_after.
ApiError store_unavailable();

// A value, or the API error that took its place.
template <typename T>
struct Result {
    std::optional<ApiError> error;
    T value{};
    // The answer is the one recorded for an earlier request with the same Idempotency-Key.
    bool replayed = false;
    bool ok() const { return !error; }
};

}  // namespace verifyd
