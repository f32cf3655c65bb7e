// The verification and message views (views.hpp).
#include "service/http/views.hpp"

#include <algorithm>

#include "verifyd/keys.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

json text_or_null(const std::string& text) {
    return text.empty() ? json(nullptr) : json(text);
}

json time_or_null(int64_t ms) {
    return ms > 0 ? json(format_rfc3339(ms)) : json(nullptr);
}

// The last provider error explains a retry in progress or a failure, not a success.
json delivery_error_json(const Verification& v) {
    bool show_error = v.delivery_status == "queued" || v.delivery_status == "failed";
    return show_error ? text_or_null(v.delivery_error) : json(nullptr);
}

json delivery_json(const Verification& v) {
    return {{"status", v.delivery_status},
            {"channel", v.delivery_channel},
            {"fallback_reason", text_or_null(v.fallback_reason)},
            {"error", delivery_error_json(v)},
            {"delivered_at", time_or_null(v.delivered_at_ms)}};
}

// The variables a verification's message is rendered with; the code only for sandbox
// ones, since a live code is never stored readable.
json rendered_variables(const Verification& v, const std::string& app_name) {
    const int ttl_seconds = static_cast<int>((v.expires_ms - v.created_ms) / 1000);
    json variables = message_variables(app_name, ttl_seconds, v.template_variables);
    if (v.sandbox) variables["code"] = v.code;
    return variables;
}

}  // namespace

json verification_json(const Verification& v, bool with_details, const std::string& app_name) {
    json data = {{"id", make_record_id(kVerificationPrefix, v.ref)},
                 {"to", v.to},
                 {"channel", v.channel},
                 {"status", v.status},
                 {"code_length", v.code_length},
                 {"max_attempts", v.max_attempts},
                 {"attempts_remaining", std::max(0, v.max_attempts - v.attempts)},
                 {"created_at", format_rfc3339(v.created_ms)},
                 {"expires_at", format_rfc3339(v.expires_ms)},
                 {"sandbox", v.sandbox},
                 {"message_id", make_record_id(kMessagePrefix, v.ref)},
                 {"locale", v.locale},
                 {"fallback", text_or_null(v.fallback)},
                 {"fallback_after_seconds",
                  v.fallback_after_seconds > 0 ? json(v.fallback_after_seconds) : json(nullptr)}};
    if (v.status == "locked") data["attempts_remaining"] = 0;
    if (with_details) {
        data["attempts"] = v.attempts;
        data["delivery"] = delivery_json(v);
        if (v.sandbox) data["template_variables"] = rendered_variables(v, app_name);
    }
    return data;
}

json message_json(const Verification& v, const Templates& templates, const std::string& app_name) {
    const json variables = rendered_variables(v, app_name);
    json data = {{"id", make_record_id(kMessagePrefix, v.ref)},
                 {"verification_id", make_record_id(kVerificationPrefix, v.ref)},
                 {"verification_status", v.status},
                 {"attempts_remaining", std::max(0, v.max_attempts - v.attempts)},
                 {"to", v.to},
                 {"channel", v.delivery_channel},
                 {"status", v.delivery_status},
                 {"fallback_reason", text_or_null(v.fallback_reason)},
                 {"error", delivery_error_json(v)},
                 {"delivered_at", time_or_null(v.delivered_at_ms)},
                 {"sandbox", v.sandbox},
                 {"template", {{"name", v.template_name}, {"variables", variables}}},
                 {"locale", v.locale},
                 {"created_at", format_rfc3339(v.created_ms)}};
    if (v.sandbox) data["body"] = templates.render(v.locale, variables);
    return data;
}

nlohmann::json pause_json(const Pause& pause) {
    return {{"target", pause.target},
            {"kind", pause.kind},
            {"reason", pause.reason},
            {"country", pause.country},
            {"sends", pause.sends},
            {"approved", pause.approved},
            {"settled", pause.settled},
            {"strikes", pause.strikes},
            {"enforced", pause.enforced},
            {"paused_at", format_rfc3339(pause.paused_at_ms)},
            {"expires_at", format_rfc3339(pause.expires_at_ms)}};
}

}  // namespace verifyd
