// The response envelope (envelope.hpp). Written as text, keys in the order nlohmann
// would sort them, since building the fixed envelope as a json object costs a map per
// response.
#include "service/http/envelope.hpp"

#include "verifyd/clock.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/log.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string envelope(bool ok, const std::string& part, const std::string& request_id) {
    std::string body = ok ? "{\"data\":" : "{\"error\":";
    body += part;
    body += ",\"meta\":{\"request_id\":";
    body += dump(request_id);
    body += ",\"timestamp\":\"";
    body += format_rfc3339(wall_clock_ms());
    body += "\",\"version\":\"v1\"},\"success\":";
    body += ok ? "true}" : "false}";
    return body;
}

}  // namespace

void JsonObjectText::name_of(const char* name) {
    if (text_.size() > 1) text_ += ',';
    append_json_string(text_, name);
    text_ += ':';
}

JsonObjectText& JsonObjectText::member(const char* name, const std::string& text) {
    name_of(name);
    append_json_string(text_, text);
    return *this;
}

JsonObjectText& JsonObjectText::member(const char* name, long long number) {
    name_of(name);
    text_ += std::to_string(number);
    return *this;
}

JsonObjectText& JsonObjectText::member(const char* name, bool flag) {
    name_of(name);
    text_ += flag ? "true" : "false";
    return *this;
}

JsonObjectText& JsonObjectText::literal(const char* name, const char* json) {
    name_of(name);
    text_ += json;
    return *this;
}

std::string JsonObjectText::close() && {
    text_ += '}';
    return std::move(text_);
}

HttpResponse success_response(const std::string& request_id, int status, const json& data) {
    return success_response_text(request_id, status, dump(data));
}

HttpResponse success_response_text(const std::string& request_id, int status,
                                   const std::string& data) {
    HttpResponse response;
    response.status = status;
    response.body = envelope(true, data, request_id);
    return response;
}

HttpResponse error_response(const std::string& request_id, const ApiError& error) {
    json body_error = {{"code", static_cast<int>(error.code)},
                       {"type", error.type()},
                       {"message", error.message},
                       {"request_id", request_id}};
    HttpResponse response;
    response.status = error.http_status;
    if (error.retry_after > 0) {
        body_error["retry_after"] = error.retry_after;
        response.headers.emplace_back("Retry-After", std::to_string(error.retry_after));
    }
    if (!error.details.empty()) body_error["details"] = error.details;
    response.body = envelope(false, dump(body_error), request_id);
    return response;
}

}  // namespace verifyd
