// The Twilio face's verifications (§11), apart from any request: a Verifications form
// read into a native send, and the Verification and VerificationCheck resources. Not
// for: the routes (service/http/handlers/twilio_verifications.cpp) or state, which is
// the native verification's (lua/send.lua keeps the VE sid across resends).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "verifyd/config.hpp"
#include "verifyd/requests.hpp"
#include "verifyd/store.hpp"
#include "verifyd/twilio.hpp"

namespace verifyd {

// A sid's 32 hex digits, lowercase, without its two letters (as records keep them).
std::string twilio_sid_hex(const std::string& sid);

// A POST /v2/Services/{sid}/Verifications form as the native send it is: To, Channel
// (sms or whatsapp; Twilio's other channels are 60223), Locale, CustomFriendlyName (else
// the service's FriendlyName: the app_name template variable), DeviceIp,
// TemplateCustomSubstitutions (a JSON object of template variables), the service's
// CodeLength, and a new VE sid. Problems are 60200 and name Twilio's parameter.
Result<SendRequest> verification_send(const TwilioForm& form, const TwilioService& service,
                                      const ApiSettings& settings);

// A POST /v2/Services/{sid}/VerificationCheck form: Code (4 to 10 digits) and exactly
// one of To and VerificationSid.
struct TwilioCheck {
    std::string code;
    std::string to;
    std::string twilio_sid;  // the VE sid's hex digits
};
Result<TwilioCheck> verification_check(const TwilioForm& form);

// Twilio's word for a verification's status: locked is max_attempts_reached.
std::string twilio_status(const std::string& status);

// The Verification resource, every documented field present; `updated_ms` is its
// date_updated.
nlohmann::json verification_resource(const Verification& v, const std::string& account_sid,
                                     const std::string& origin, int64_t updated_ms);

// The VerificationCheck resource of a check's outcome in service `service_sid` (hex), as
// JSON text: the face's hottest answer, written without building a nlohmann::json.
std::string check_resource(const CheckOutcome& outcome, const std::string& service_sid,
                           const std::string& account_sid, int64_t now_ms);

}  // namespace verifyd
