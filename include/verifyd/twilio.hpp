// The Twilio Verify v2 face (§11), apart from any request: Twilio's form bodies, the
// account SID, sids, dates, and Twilio's error bodies with the mapping of verifyd's
// errors to Twilio's codes (one table, twilio.cpp). Not for: the /v2 routes
// (service/http/handlers/twilio_*.cpp) or the state of services (lua/services/).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/errors.hpp"
#include "verifyd/http.hpp"

namespace verifyd {

// An application/x-www-form-urlencoded body, by parameter name.
using TwilioForm = std::map<std::string, std::string>;

// '+' is a space and %XX a byte; a parameter given twice, a malformed escape or a part
// without '=' is refused (400, 60200, naming the parameter). Empty parts are skipped.
Result<TwilioForm> parse_twilio_form(const std::string& body);

// "true" or "false", as Twilio's SDKs send booleans; nothing otherwise.
std::optional<bool> parse_twilio_bool(const std::string& text);

// "AC" and the first 32 hex digits of the unkeyed BLAKE2b-256 of the account's name.
std::string twilio_account_sid(const std::string& account);

// `prefix` ("VA", "VE", "VL") and 32 random lowercase hex digits.
std::string new_twilio_sid(const char* prefix);
// `prefix` and 32 hex digits, of either case, as Twilio's patterns allow.
bool is_twilio_sid(const std::string& text, const char* prefix);

// Twilio's dates: "2026-12-02T10:00:00Z", whole seconds.
std::string twilio_date(int64_t unix_ms);

// A verifyd error as Twilio says it: its HTTP status and Twilio's code.
struct TwilioErrorCode {
    int http_status;
    int code;
};
TwilioErrorCode twilio_error_code(const ApiError& error);

// {"code", "message", "more_info", "status"}, with Retry-After for a 429 or 503.
// An error as Twilio's body; a refusal that names fields names them as the forms'
// parameters: "Invalid parameter `To`: …" (§11).
HttpResponse twilio_error_response(const ApiError& error);
// The native requests' field names as the /v2 forms' parameters ("to" is To).
std::string twilio_parameter_name(const std::string& field);

// An error of the /v2 face that verifyd's catalog has no code for: 400 with Twilio's
// `twilio_code` (60200 invalid parameter, 60223 channel not available, …).
ApiError twilio_parameter_error(int twilio_code, const std::string& parameter,
                                const std::string& problem);

// A service of the Twilio face: the parameters it was created and updated with, by
// Twilio's names (lua/services/put.lua keeps them).
struct TwilioService {
    std::string sid;
    TwilioForm parameters;
    int64_t created_ms = 0;
    int64_t updated_ms = 0;
};

struct TwilioServicePage {
    long long total = 0;  // the account's services
    std::vector<TwilioService> services;
};

// The service parameters of a create (`creating`: FriendlyName required) or an update
// that verifyd keeps, checked; unknown parameters are left out, as Twilio ignores them.
Result<TwilioForm> service_parameters(const TwilioForm& form, bool creating);

// The service as Twilio's resource, every documented field present; `origin` is
// "http://host:port" of the request, for `url` and `links`.
nlohmann::json service_resource(const TwilioService& service, const std::string& account_sid,
                                const std::string& origin);

// The code length of a service's verifications (CodeLength, 6 by default).
int service_code_length(const TwilioService& service);

}  // namespace verifyd
