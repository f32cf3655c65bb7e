// The Twilio face's services (twilio.hpp): which parameters a service keeps and how each
// is checked (one table, kServiceParameters), and the resource Twilio's SDKs read.
// Not for: storing them (lua/services/) or their routes (handlers/twilio_services.cpp).
#include <algorithm>

#include "verifyd/text.hpp"
#include "verifyd/twilio.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

enum class Kind { Text, Integer, Boolean, Sid };

struct ServiceParameter {
    const char* name;  // Twilio's form name
    Kind kind;
    int least;                         // Text: shortest; Integer: smallest
    int most;                          // Text: longest; Integer: largest
    const char* sid_prefix = nullptr;  // Sid: "CR", "MG", "HJ"
};

const ServiceParameter kServiceParameters[] = {
    {"FriendlyName", Kind::Text, 1, 32},
    {"CodeLength", Kind::Integer, 4, 10},
    {"LookupEnabled", Kind::Boolean, 0, 0},
    {"SkipSmsToLandlines", Kind::Boolean, 0, 0},
    {"DtmfInputRequired", Kind::Boolean, 0, 0},
    {"TtsName", Kind::Text, 0, 255},
    {"Psd2Enabled", Kind::Boolean, 0, 0},
    {"DoNotShareWarningEnabled", Kind::Boolean, 0, 0},
    {"CustomCodeEnabled", Kind::Boolean, 0, 0},
    {"Push.IncludeDate", Kind::Boolean, 0, 0},
    {"Push.ApnCredentialSid", Kind::Sid, 0, 0, "CR"},
    {"Push.FcmCredentialSid", Kind::Sid, 0, 0, "CR"},
    {"Totp.Issuer", Kind::Text, 0, 255},
    {"Totp.TimeStep", Kind::Integer, 20, 60},
    {"Totp.CodeLength", Kind::Integer, 3, 8},
    {"Totp.Skew", Kind::Integer, 0, 2},
    {"DefaultTemplateSid", Kind::Sid, 0, 0, "HJ"},
    {"Whatsapp.MsgServiceSid", Kind::Sid, 0, 0, "MG"},
    {"Whatsapp.From", Kind::Text, 0, 255},
    {"Passkeys.RelyingParty.Id", Kind::Text, 0, 255},
    {"Passkeys.RelyingParty.Name", Kind::Text, 0, 255},
    {"Passkeys.RelyingParty.Origins", Kind::Text, 0, 1024},
    {"Passkeys.AuthenticatorAttachment", Kind::Text, 0, 255},
    {"Passkeys.DiscoverableCredentials", Kind::Text, 0, 255},
    {"Passkeys.UserVerification", Kind::Text, 0, 255},
    {"VerifyEventSubscriptionEnabled", Kind::Boolean, 0, 0},
};

// The problem with `value` for `parameter`, or "" when it is good.
std::string problem_with(const ServiceParameter& parameter, const std::string& value) {
    const std::string range =
        std::to_string(parameter.least) + " to " + std::to_string(parameter.most);
    switch (parameter.kind) {
        case Kind::Text:
            if (static_cast<int>(utf8_length(value)) < parameter.least ||
                static_cast<int>(utf8_length(value)) > parameter.most)
                return "must be " + range + " characters";
            return "";
        case Kind::Integer: {
            auto number = parse_whole_number(value);
            if (!number || *number < parameter.least || *number > parameter.most)
                return "must be a whole number from " + range;
            return "";
        }
        case Kind::Boolean:
            return parse_twilio_bool(value) ? "" : "must be true or false";
        case Kind::Sid:
            return is_twilio_sid(value, parameter.sid_prefix)
                       ? ""
                       : "must be " + std::string(parameter.sid_prefix) + " and 32 hex digits";
    }
    return "";
}

// The parameter's value, or nothing when the service was never given it.
std::optional<std::string> given(const TwilioService& service, const char* name) {
    auto found = service.parameters.find(name);
    if (found == service.parameters.end()) return std::nullopt;
    return found->second;
}

json setting_or_null(const TwilioService& service, const char* name) {
    auto value = given(service, name);
    return value ? json(*value) : json(nullptr);
}

json integer_or_null(const TwilioService& service, const char* name) {
    auto value = given(service, name);
    auto number = value ? parse_whole_number(*value) : std::nullopt;
    return number ? json(*number) : json(nullptr);
}

bool boolean_or(const TwilioService& service, const char* name, bool otherwise) {
    auto value = given(service, name);
    auto flag = value ? parse_twilio_bool(*value) : std::nullopt;
    return flag ? *flag : otherwise;
}

json origins(const TwilioService& service) {
    auto value = given(service, "Passkeys.RelyingParty.Origins");
    if (!value) return nullptr;
    json list = json::array();
    for (const std::string& origin : split(*value, ','))
        if (!trim(origin).empty()) list.push_back(trim(origin));
    return list;
}

}  // namespace

Result<TwilioForm> service_parameters(const TwilioForm& form, bool creating) {
    Result<TwilioForm> result;
    if (creating && !form.count("FriendlyName")) {
        result.error = twilio_parameter_error(60200, "FriendlyName", "is required");
        return result;
    }
    for (const ServiceParameter& parameter : kServiceParameters) {
        auto value = form.find(parameter.name);
        if (value == form.end()) continue;
        const std::string problem = problem_with(parameter, value->second);
        if (!problem.empty()) {
            result.error = twilio_parameter_error(60200, parameter.name, problem);
            return result;
        }
        result.value.emplace(parameter.name, value->second);
    }
    return result;
}

int service_code_length(const TwilioService& service) {
    auto length = integer_or_null(service, "CodeLength");
    return length.is_null() ? 6 : length.get<int>();
}

json service_resource(const TwilioService& service, const std::string& account_sid,
                      const std::string& origin) {
    const std::string url = origin + "/v2/Services/" + service.sid;
    json links = json::object();
    for (const auto& [name, path] : {std::pair{"verification_checks", "VerificationCheck"},
                                     {"verifications", "Verifications"},
                                     {"rate_limits", "RateLimits"},
                                     {"messaging_configurations", "MessagingConfigurations"},
                                     {"entities", "Entities"},
                                     {"webhooks", "Webhooks"},
                                     {"access_tokens", "AccessTokens"}})
        links[name] = url + "/" + path;
    return {
        {"sid", service.sid},
        {"account_sid", account_sid},
        {"friendly_name", setting_or_null(service, "FriendlyName")},
        {"code_length", service_code_length(service)},
        {"lookup_enabled", boolean_or(service, "LookupEnabled", false)},
        {"psd2_enabled", boolean_or(service, "Psd2Enabled", false)},
        {"skip_sms_to_landlines", boolean_or(service, "SkipSmsToLandlines", false)},
        {"dtmf_input_required", boolean_or(service, "DtmfInputRequired", true)},
        {"tts_name", setting_or_null(service, "TtsName")},
        {"do_not_share_warning_enabled", boolean_or(service, "DoNotShareWarningEnabled", false)},
        {"custom_code_enabled", boolean_or(service, "CustomCodeEnabled", false)},
        {"push",
         {{"include_date", boolean_or(service, "Push.IncludeDate", true)},
          {"apn_credential_sid", setting_or_null(service, "Push.ApnCredentialSid")},
          {"fcm_credential_sid", setting_or_null(service, "Push.FcmCredentialSid")}}},
        {"totp",
         {{"issuer", setting_or_null(service, "Totp.Issuer")},
          {"time_step", integer_or_null(service, "Totp.TimeStep")},
          {"code_length", integer_or_null(service, "Totp.CodeLength")},
          {"skew", integer_or_null(service, "Totp.Skew")}}},
        {"default_template_sid", setting_or_null(service, "DefaultTemplateSid")},
        {"whatsapp",
         {{"msg_service_sid", setting_or_null(service, "Whatsapp.MsgServiceSid")},
          {"from", setting_or_null(service, "Whatsapp.From")}}},
        {"passkeys",
         {{"relying_party",
           {{"id", setting_or_null(service, "Passkeys.RelyingParty.Id")},
            {"name", setting_or_null(service, "Passkeys.RelyingParty.Name")},
            {"origins", origins(service)}}},
          {"authenticator_attachment",
           setting_or_null(service, "Passkeys.AuthenticatorAttachment")},
          {"discoverable_credentials",
           setting_or_null(service, "Passkeys.DiscoverableCredentials")},
          {"user_verification", setting_or_null(service, "Passkeys.UserVerification")}}},
        {"verify_event_subscription_enabled",
         boolean_or(service, "VerifyEventSubscriptionEnabled", false)},
        {"date_created", twilio_date(service.created_ms)},
        {"date_updated", twilio_date(service.updated_ms)},
        {"url", url},
        {"links", links},
    };
}

}  // namespace verifyd
