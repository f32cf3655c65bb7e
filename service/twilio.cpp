// The Twilio face's rules (twilio.hpp). The mapping of verifyd's errors to Twilio's codes
// is the table kTwilioCodes: docs/API.md §11 lists it.
#include "verifyd/twilio.hpp"

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "verifyd/crypto.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

constexpr size_t kSidHexDigits = 32;

struct TwilioMapping {
    ErrorCode code;
    TwilioErrorCode twilio;
};

// Each of verifyd's codes as Twilio's SDKs expect to read it.
const TwilioMapping kTwilioCodes[] = {
    {ErrorCode::InvalidRequest, {400, 60200}},      {ErrorCode::InvalidPhone, {400, 60200}},
    {ErrorCode::IdempotencyConflict, {409, 20409}}, {ErrorCode::MissingApiKey, {401, 20003}},
    {ErrorCode::InvalidApiKey, {401, 20003}},       {ErrorCode::RevokedApiKey, {401, 20003}},
    {ErrorCode::ExpiredApiKey, {401, 20003}},       {ErrorCode::RateLimitExceeded, {429, 20429}},
    {ErrorCode::InsufficientScope, {403, 20003}},   {ErrorCode::DestinationBlocked, {403, 60605}},
    {ErrorCode::DestinationPaused, {403, 60410}},   {ErrorCode::VerificationNotFound, {404, 20404}},
    {ErrorCode::VerificationExpired, {404, 20404}}, {ErrorCode::MaxAttemptsExceeded, {429, 60202}},
    {ErrorCode::OtpRateLimit, {429, 60203}},        {ErrorCode::MessageNotFound, {404, 20404}},
    {ErrorCode::ClientRateLimit, {429, 60203}},     {ErrorCode::InternalError, {500, 20500}},
    {ErrorCode::ProviderError, {503, 20503}},
};

// What Twilio says for its codes; verifyd's own message follows where it says more.
const char* twilio_message(int code) {
    switch (code) {
        case 20003:
            return "Authenticate";
        case 20004:
            return "Method not allowed";
        case 20404:
            return "The requested resource was not found";
        case 20409:
            return "Conflict";
        case 20429:
            return "Too many requests";
        case 20500:
            return "Internal server error";
        case 20503:
            return "Service unavailable";
        case 60200:
            return "Invalid parameter";
        case 60202:
            return "Max check attempts reached";
        case 60203:
            return "Max send attempts reached";
        case 60223:
            return "Delivery channel disabled";
        case 60410:
            return "Verification delivery attempt blocked";
        case 60605:
            return "Verification delivery attempt blocked: destination not allowed";
        default:
            return "Error";
    }
}

bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// %XX escapes and '+' as a space, as a form encodes them.
std::optional<std::string> form_decode(std::string text) {
    for (char& c : text)
        if (c == '+') c = ' ';
    return percent_decode(text);
}

}  // namespace

Result<TwilioForm> parse_twilio_form(const std::string& body) {
    Result<TwilioForm> result;
    for (const std::string& part : split(body, '&')) {
        if (part.empty()) continue;
        const size_t equals = part.find('=');
        auto name = form_decode(part.substr(0, equals));
        const std::string shown = name ? *name : part.substr(0, equals);
        if (equals == std::string::npos || !name || name->empty()) {
            result.error = twilio_parameter_error(60200, shown, "is not a name=value pair");
            return result;
        }
        auto value = form_decode(part.substr(equals + 1));
        if (!value) {
            result.error = twilio_parameter_error(60200, *name, "has a malformed %-escape");
            return result;
        }
        if (!is_utf8(*name) || !is_utf8(*value)) {
            result.error = twilio_parameter_error(60200, *name, "is not UTF-8 text");
            return result;
        }
        if (!result.value.emplace(*name, *value).second) {
            result.error = twilio_parameter_error(60200, *name, "is given more than once");
            return result;
        }
    }
    return result;
}

std::optional<bool> parse_twilio_bool(const std::string& text) {
    if (text == "true") return true;
    if (text == "false") return false;
    return std::nullopt;
}

std::string twilio_account_sid(const std::string& account) {
    return "AC" + api_key_hash(account).substr(0, kSidHexDigits);
}

std::string new_twilio_sid(const char* prefix) {
    return prefix + to_hex(random_bytes(kSidHexDigits / 2));
}

bool is_twilio_sid(const std::string& text, const char* prefix) {
    const std::string expected(prefix);
    if (text.size() != expected.size() + kSidHexDigits || !starts_with(text, expected))
        return false;
    for (size_t i = expected.size(); i < text.size(); ++i)
        if (!is_hex(text[i])) return false;
    return true;
}

std::string twilio_date(int64_t unix_ms) {
    return format_rfc3339(unix_ms);
}

TwilioErrorCode twilio_error_code(const ApiError& error) {
    if (error.twilio_code != 0) return {error.http_status, error.twilio_code};
    // Statuses that say more than the code: no route, a method the route does not take,
    // a body too large, an outage (5000 with 503).
    switch (error.http_status) {
        case 404:
            return {404, 20404};
        case 405:
            return {405, 20004};
        case 413:
            return {413, 60200};
        case 503:
            return {503, 20503};
    }
    for (const TwilioMapping& mapping : kTwilioCodes)
        if (mapping.code == error.code) return mapping.twilio;
    return {500, 20500};
}

std::string twilio_parameter_name(const std::string& field) {
    static const std::map<std::string, std::string> parameters = {
        {"to", "To"},          {"channel", "Channel"},    {"locale", "Locale"},
        {"code", "Code"},      {"id", "VerificationSid"}, {"client_ip", "DeviceIp"},
        {"sandbox", "Sandbox"}};
    if (auto found = parameters.find(field); found != parameters.end()) return found->second;
    if (starts_with(field, "template")) return "TemplateCustomSubstitutions";
    return field;
}

HttpResponse twilio_error_response(const ApiError& error) {
    const TwilioErrorCode twilio = twilio_error_code(error);
    std::string message;
    if (twilio.code == 60200 && !error.details.empty()) {
        // Each parameter at fault, by the form's name (§11).
        message = "Invalid parameter";
        const char* separator = " ";
        for (const auto& [field, problems] : error.details) {
            message += separator + ("`" + twilio_parameter_name(field) + "`:");
            for (size_t i = 0; i < problems.size(); ++i)
                message += (i == 0 ? " " : ", ") + problems[i];
            separator = "; ";
        }
    } else {
        // A key problem says nothing more (§11); the face's own errors say it all.
        message = error.twilio_code != 0 ? error.message : twilio_message(twilio.code);
        if (twilio.code != 20003 && error.twilio_code == 0 && !error.message.empty())
            message += ": " + error.message;
        for (const auto& [field, problems] : error.details)
            for (const std::string& problem : problems)
                message += " (" + twilio_parameter_name(field) + " " + problem + ")";
    }
    nlohmann::json body = {
        {"code", twilio.code},
        {"message", message},
        {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(twilio.code)},
        {"status", twilio.http_status}};
    HttpResponse response;
    response.status = twilio.http_status;
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (error.retry_after > 0 || twilio.http_status == 429 || twilio.http_status == 503)
        response.headers.emplace_back("Retry-After",
                                      std::to_string(std::max(1, error.retry_after)));
    return response;
}

ApiError twilio_parameter_error(int twilio_code, const std::string& parameter,
                                const std::string& problem) {
    ApiError error =
        make_error(ErrorCode::InvalidRequest, "Invalid parameter `" + parameter + "`: " + problem);
    error.twilio_code = twilio_code;
    error.http_status = 400;
    return error;
}

}  // namespace verifyd
