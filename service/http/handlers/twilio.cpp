// What the Twilio face's handlers share (handlers.hpp): the form body, the origin that
// resources' urls name, and the account's slot of services.
#include "service/http/handlers.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/redis_keys.hpp"
#include "verifyd/text.hpp"

namespace verifyd {

Result<TwilioForm> read_twilio_form(const HttpRequest& request) {
    if (request.body.size() > kMaxBodyBytes)
        return {with_status(
            make_error(ErrorCode::InvalidRequest, "The request body is larger than 16 KiB."), 413)};
    auto type = request.header("Content-Type");
    if (type && !request.body.empty() && media_type(*type) != "application/x-www-form-urlencoded")
        return {twilio_parameter_error(60200, "Content-Type",
                                       "must be application/x-www-form-urlencoded")};
    return parse_twilio_form(request.body);
}

std::string twilio_origin(const HttpRequest& request) {
    auto forwarded = request.header("X-Forwarded-Proto");
    const std::string scheme =
        forwarded && lowercase(trim(*forwarded)) == "https" ? "https" : "http";
    auto host = request.header("Host");
    return scheme + "://" + (host ? trim(*host) : std::string("localhost"));
}

Result<std::string> services_slot(const Exchange& exchange) {
    const auto& number_key = exchange.credentials->number_key;
    if (!number_key) return {number_key_missing()};
    return {std::nullopt,
            name_tag(*number_key, "verifyd twilio services", {exchange.caller.account})};
}

}  // namespace verifyd
