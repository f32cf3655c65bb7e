// Fuzz target: the body of POST /verify/send, through everything the endpoint does
// before Redis (parse_json_body, parse_send_request with the default settings, phone
// validation, the message body rendered for the locale), and the contract's rules for
// an accepted request: every field in its range, and the code in the rendered body.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/phone.hpp"
#include "verifyd/requests.hpp"
#include "verifyd/templates.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const verifyd::ApiSettings settings = verifyd::api_settings(verifyd::Config{});
    static const verifyd::PhoneValidator phones;
    static const verifyd::Templates templates;

    verifyd::HttpRequest request;
    request.body = verifyd_fuzz::text_of(data, size);
    const auto body = verifyd::parse_json_body(request);
    if (body.error) {
        require(body.error->code == verifyd::ErrorCode::InvalidRequest, "a refused body is 4000");
        return 0;
    }
    const auto parsed = verifyd::parse_send_request(body.value, settings);
    if (parsed.error) {
        require(parsed.error->code == verifyd::ErrorCode::InvalidRequest &&
                    parsed.error->http_status == 400 && !parsed.error->details.empty(),
                "a refused send is 400 / 4000 with details");
        return 0;
    }
    const verifyd::SendRequest& send = parsed.value;
    require(send.channel == "sms" || send.channel == "whatsapp", "channel is sms or whatsapp");
    require(send.fallback.empty() || (send.fallback == "sms" && send.channel == "whatsapp"),
            "fallback is sms, and only with whatsapp");
    require(send.code_length >= 4 && send.code_length <= 10, "code_length is 4 to 10");
    require(send.ttl_seconds >= 30 && send.ttl_seconds <= 3600, "ttl_seconds is 30 to 3600");
    require(verifyd::is_language_tag(send.locale), "locale is a language tag");
    require(send.template_variables.is_object() && send.template_variables.size() <= 20 &&
                !send.template_variables.contains("code"),
            "template variables are at most 20, without code");

    phones.check(send.to);

    // As the API builds a sandbox message's variables and body.
    const std::string code = "8361529470";
    nlohmann::json variables = {{"app_name", settings.app_name}, {"ttl_minutes", 10}};
    variables.update(send.template_variables);
    variables["code"] = code;
    require(templates.render(send.locale, variables).find(code) != std::string::npos,
            "the rendered body holds the code");
    return 0;
}
