// The Twilio face's verifications (twilio_verifications.hpp). A Verifications form
// becomes the native send's JSON body and goes through parse_send_request, so that a
// /v2 send is checked by the same rules as a native one; only the names in its
// problems are Twilio's.
#include "verifyd/twilio_verifications.hpp"

#include <algorithm>

#include "service/http/envelope.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

// Twilio's channels that verifyd does not deliver on: 60223, not 60200.
bool is_other_twilio_channel(const std::string& channel) {
    return channel == "call" || channel == "email" || channel == "sna" || channel == "auto" ||
           channel == "rcs";
}

// A native send's refusal of the fields the form gave, as the form's 60200 (its message
// names the parameters: twilio_error_response).
ApiError as_twilio_problems(ApiError error) {
    error.twilio_code = 60200;
    return error;
}

std::string form_value(const TwilioForm& form, const char* name) {
    auto found = form.find(name);
    return found == form.end() ? std::string() : found->second;
}

// The VL sid of a VE sid's `index`-th send: derived, so that a send keeps no sid of its own.
std::string attempt_sid(const std::string& twilio_sid, size_t index) {
    return "VL" + api_key_hash("VE" + twilio_sid + "/" + std::to_string(index)).substr(0, 32);
}

// The first send's time in lib/record.lua's F.send_attempts; 0 when there is none.
int64_t first_send_ms(const std::string& attempts) {
    return std::atoll(attempts.c_str());
}

json send_code_attempts(const std::string& twilio_sid, const std::string& attempts) {
    json list = json::array();
    const int64_t first_ms = first_send_ms(attempts);
    const std::vector<std::string> words = split(attempts, ' ');
    for (size_t i = 1; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (word.size() < 2) continue;
        auto seconds = parse_whole_number(word.substr(1));
        list.push_back({{"attempt_sid", attempt_sid(twilio_sid, i - 1)},
                        {"channel", word[0] == 'w' ? "whatsapp" : "sms"},
                        {"time", twilio_date(first_ms + seconds.value_or(0) * 1000)}});
    }
    return list;
}

// 4 to 10 ASCII digits.
bool is_code(const std::string& text) {
    return text.size() >= 4 && text.size() <= 10 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string twilio_sid_hex(const std::string& sid) {
    return lowercase(sid.size() > 2 ? sid.substr(2) : std::string());
}

Result<SendRequest> verification_send(const TwilioForm& form, const TwilioService& service,
                                      const ApiSettings& settings) {
    const std::string channel = form_value(form, "Channel");
    if (is_other_twilio_channel(channel))
        return {twilio_parameter_error(
            60223, "Channel", "verifyd delivers on sms and whatsapp only, not " + channel)};
    if (!form.count("To")) return {twilio_parameter_error(60200, "To", "is required")};
    if (!form.count("Channel")) return {twilio_parameter_error(60200, "Channel", "is required")};
    if (form.count("CustomCode"))
        return {twilio_parameter_error(60200, "CustomCode",
                                       "is not supported: verifyd makes every code itself")};
    const std::string app_name = form.count("CustomFriendlyName")
                                     ? form_value(form, "CustomFriendlyName")
                                     : form_value(service.parameters, "FriendlyName");
    if (trim(app_name).empty() || utf8_length(app_name) > 32)
        return {twilio_parameter_error(60200, "CustomFriendlyName", "must be 1 to 32 characters")};

    json body = {{"to", form_value(form, "To")},
                 {"channel", channel},
                 {"code_length", service_code_length(service)}};
    if (form.count("Locale")) body["locale"] = form_value(form, "Locale");
    if (form.count("DeviceIp")) body["client_ip"] = form_value(form, "DeviceIp");
    if (form.count("TemplateCustomSubstitutions")) {
        json variables =
            json::parse(form_value(form, "TemplateCustomSubstitutions"), nullptr, false);
        if (!variables.is_object())
            return {twilio_parameter_error(60200, "TemplateCustomSubstitutions",
                                           "must be a JSON object of template variables")};
        body["template"] = {{"name", kDefaultTemplateName}, {"variables", variables}};
    }
    auto parsed = parse_send_request(body, settings);
    if (parsed.error) return {as_twilio_problems(*parsed.error)};
    SendRequest send = std::move(parsed.value);
    // The service's name is the message's app_name: set after the rules that keep a
    // native request from naming itself.
    send.template_variables["app_name"] = app_name;
    send.service_sid = twilio_sid_hex(service.sid);
    send.twilio_sid = twilio_sid_hex(new_twilio_sid("VE"));
    return {std::nullopt, std::move(send)};
}

Result<TwilioCheck> verification_check(const TwilioForm& form) {
    TwilioCheck check;
    check.code = form_value(form, "Code");
    check.to = form_value(form, "To");
    const std::string sid = form_value(form, "VerificationSid");
    if (!form.count("Code")) return {twilio_parameter_error(60200, "Code", "is required")};
    if (!is_code(check.code))
        return {twilio_parameter_error(60200, "Code", "must be 4 to 10 digits")};
    if (form.count("To") == form.count("VerificationSid"))
        return {
            twilio_parameter_error(60200, "To", "give either To or VerificationSid, exactly one")};
    if (form.count("VerificationSid")) {
        // A sid that is no VE sid names no verification: 20404, as an unknown one.
        if (!is_twilio_sid(sid, "VE")) return {make_error(ErrorCode::VerificationNotFound)};
        check.twilio_sid = twilio_sid_hex(sid);
    }
    return {std::nullopt, check};
}

std::string twilio_status(const std::string& status) {
    return status == "locked" ? "max_attempts_reached" : status;
}

json verification_resource(const Verification& v, const std::string& account_sid,
                           const std::string& origin, int64_t updated_ms) {
    const std::string sid = "VE" + v.twilio_sid;
    const std::string service_sid = "VA" + v.service_sid;
    const int64_t created_ms = first_send_ms(v.send_attempts);
    return {{"sid", sid},
            {"service_sid", service_sid},
            {"account_sid", account_sid},
            {"to", v.to},
            {"channel", v.channel},
            {"status", twilio_status(v.status)},
            {"valid", v.status == "approved"},
            {"lookup", nullptr},
            {"amount", nullptr},
            {"payee", nullptr},
            {"send_code_attempts", send_code_attempts(v.twilio_sid, v.send_attempts)},
            {"date_created", twilio_date(created_ms != 0 ? created_ms : v.created_ms)},
            {"date_updated", twilio_date(updated_ms)},
            {"sna", nullptr},
            {"url", origin + "/v2/Services/" + service_sid + "/Verifications/" + sid}};
}

std::string check_resource(const CheckOutcome& outcome, const std::string& service_sid,
                           const std::string& account_sid, int64_t now_ms) {
    const int64_t created_ms = first_send_ms(outcome.send_attempts);
    JsonObjectText text;
    text.member("account_sid", account_sid)
        .literal("amount", "null")
        .member("channel", outcome.channel)
        .member("date_created", twilio_date(created_ms != 0 ? created_ms : now_ms))
        .member("date_updated", twilio_date(now_ms))
        .literal("payee", "null")
        .member("service_sid", "VA" + service_sid)
        .member("sid", "VE" + outcome.twilio_sid)
        .literal("sna_attempts_error_codes", "[]")
        .member("status", twilio_status(outcome.status))
        .member("to", outcome.to)
        .member("valid", outcome.status == "approved");
    return std::move(text).close();
}

}  // namespace verifyd
