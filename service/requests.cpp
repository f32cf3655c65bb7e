// Parsing and validation of request bodies and query strings. Unknown fields are
// refused rather than ignored, so a misspelt option never silently does nothing.
#include "verifyd/requests.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "verifyd/fraud_guard.hpp"
#include "verifyd/http.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

constexpr size_t kMaxTemplateVariables = 20;
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxValueLength = 256;

class Problems {
  public:
    void add(const std::string& field, std::string problem) {
        details_[field].push_back(std::move(problem));
    }
    bool any() const { return !details_.empty(); }
    ApiError error() const {
        const auto& [field, problems] = *details_.begin();
        ApiError error = make_error(ErrorCode::InvalidRequest, field + ": " + problems.front());
        error.details = details_;
        return error;
    }

  private:
    FieldProblems details_;
};

void refuse_unknown_fields(const json& body, const std::set<std::string>& known,
                           Problems& problems) {
    for (const auto& item : body.items())
        if (!known.count(item.key())) problems.add(item.key(), "is not a known field");
}

bool read_string(const json& body, const char* field, std::string& out, Problems& problems) {
    if (!body.contains(field)) return false;
    if (!body[field].is_string()) {
        problems.add(field, "must be a string");
        return false;
    }
    out = body[field].get<std::string>();
    return true;
}

void read_integer(const json& body, const char* field, int min, int max, int& out,
                  Problems& problems) {
    if (!body.contains(field)) return;
    const json& value = body[field];
    if (!value.is_number_integer()) {
        problems.add(field, "must be a whole number");
        return;
    }
    long long number = value.get<long long>();
    if (value.is_number_unsigned() && value.get<unsigned long long>() > 1000000000ULL)
        number = max + 1LL;
    if (number < min || number > max) {
        problems.add(field, "must be from " + std::to_string(min) + " to " + std::to_string(max));
        return;
    }
    out = static_cast<int>(number);
}

void read_sandbox(const json& body, bool& out, Problems& problems) {
    if (!body.contains("sandbox")) return;
    if (body["sandbox"].is_boolean())
        out = body["sandbox"].get<bool>();
    else
        problems.add("sandbox", "must be true or false");
}

void read_sandbox_parameter(const std::string& value, bool& out, Problems& problems) {
    if (value == "true" || value == "false")
        out = value == "true";
    else
        problems.add("sandbox", "must be true or false");
}

bool is_variable_name(const std::string& name) {
    return !name.empty() && name.size() <= kMaxNameLength &&
           std::all_of(name.begin(), name.end(),
                       [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// What verifyd fills a reserved variable with, or null for a request's own name: a
// request that set app_name or ttl_minutes would make the message lie about who sends
// the code or how long it lives.
const char* reserved_variable(const std::string& name) {
    if (name == "code") return "the code";
    if (name == "app_name") return "the app name (VERIFYD_APP_NAME)";
    if (name == "ttl_minutes") return "the code's lifetime from ttl_seconds";
    return nullptr;
}

void read_template(const json& body, SendRequest& request, Problems& problems) {
    if (!body.contains("template")) return;
    const json& tmpl = body["template"];
    if (!tmpl.is_object()) {
        problems.add("template", "must be an object with name and variables");
        return;
    }
    for (const auto& item : tmpl.items())
        if (item.key() != "name" && item.key() != "variables")
            problems.add("template." + item.key(), "is not a known field");
    if (!tmpl.contains("name") || !tmpl["name"].is_string() ||
        tmpl["name"].get<std::string>().empty() ||
        utf8_length(tmpl["name"].get<std::string>()) > kMaxNameLength) {
        problems.add("template.name", "must be a string of 1 to 64 characters");
    } else {
        request.template_name = tmpl["name"].get<std::string>();
    }
    if (!tmpl.contains("variables")) return;
    const json& variables = tmpl["variables"];
    if (!variables.is_object()) {
        problems.add("template.variables", "must be an object of strings and numbers");
        return;
    }
    if (variables.size() > kMaxTemplateVariables)
        problems.add("template.variables", "may hold at most 20 variables");
    for (const auto& item : variables.items()) {
        const std::string field = "template.variables." + item.key();
        if (const char* what = reserved_variable(item.key())) {
            problems.add(field, std::string("is reserved: verifyd fills in ") + what);
        } else if (!is_variable_name(item.key())) {
            problems.add(field, "names must be 1 to 64 of [A-Za-z0-9_]");
        } else if (item.value().is_string()) {
            if (item.value().get<std::string>().size() > kMaxValueLength)
                problems.add(field, "must be at most 256 characters");
        } else if (!item.value().is_number()) {
            problems.add(field, "must be a string or a number");
        }
    }
    if (!problems.any()) request.template_variables = variables;
}

// application/json or a structured syntax of it (application/problem+json), whatever its
// parameters (charset=utf-8).
bool is_json_media_type(const std::string& content_type) {
    const std::string type = media_type(content_type);
    const std::string suffix = "+json";
    return type == "application/json" ||
           (type.size() > suffix.size() &&
            type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0);
}

// A header's value as an answer may quote it: printable ASCII, at most 100 characters.
std::string quoted_header(const std::string& value) {
    std::string shown;
    for (char c : value.substr(0, 100)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return shown;
}

ApiError not_json(const HttpRequest& request) {
    auto content_type = request.header("Content-Type");
    if (!content_type || content_type->empty() || is_json_media_type(*content_type))
        return make_error(ErrorCode::InvalidRequest, "The body is not valid JSON.");
    return make_field_error(ErrorCode::InvalidRequest, "Content-Type",
                            "must be application/json: the body is not JSON and was sent as " +
                                quoted_header(*content_type));
}

}  // namespace

bool is_language_tag(const std::string& tag) {
    static const std::regex pattern("^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$");
    return tag.size() <= 35 && std::regex_match(tag, pattern);
}

Parsed<json> parse_json_body(const HttpRequest& request) {
    Parsed<json> parsed;
    if (request.body.size() > kMaxBodyBytes) {
        parsed.error = with_status(
            make_error(ErrorCode::InvalidRequest, "The request body is larger than 16 KiB."), 413);
        return parsed;
    }
    parsed.value = json::parse(request.body, nullptr, false);
    if (parsed.value.is_discarded()) {
        parsed.error = not_json(request);
    } else if (!parsed.value.is_object()) {
        parsed.error = make_error(ErrorCode::InvalidRequest, "The body must be a JSON object.");
    }
    return parsed;
}

namespace {

void read_client_fields(const json& body, SendRequest& request, Problems& problems) {
    std::string address;
    if (read_string(body, "client_ip", address, problems)) {
        auto network = client_network(address);
        if (network)
            request.client_network = *network;
        else
            problems.add("client_ip",
                         "must be an IPv4 address of four dotted decimal parts or an IPv6 address");
    }
    if (read_string(body, "client_id", request.client_id, problems) &&
        !is_client_id(request.client_id))
        problems.add("client_id", "must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -");
}

}  // namespace

Parsed<SendRequest> parse_send_request(const json& body, const ApiSettings& settings) {
    Parsed<SendRequest> parsed;
    SendRequest& request = parsed.value;
    request.code_length = settings.code_length;
    request.ttl_seconds = std::min(std::max(settings.code_ttl, 1), 86400);
    Problems problems;
    refuse_unknown_fields(
        body,
        {"to", "channel", "fallback", "fallback_after_seconds", "code_length", "ttl_seconds",
         "locale", "template", "sandbox", "client_ip", "client_id"},
        problems);
    if (!read_string(body, "to", request.to, problems) && !body.contains("to"))
        problems.add("to", "is required");
    if (read_string(body, "channel", request.channel, problems) && request.channel != "sms" &&
        request.channel != "whatsapp")
        problems.add("channel", "must be \"sms\" or \"whatsapp\"");
    if (read_string(body, "fallback", request.fallback, problems)) {
        if (request.fallback != "sms")
            problems.add("fallback", "must be \"sms\"");
        else if (request.channel != "whatsapp")
            problems.add("fallback", "is only allowed with channel \"whatsapp\"");
    }
    read_integer(body, "fallback_after_seconds", 10, 300, request.fallback_after_seconds, problems);
    if (body.contains("fallback_after_seconds") && request.fallback != "sms")
        problems.add("fallback_after_seconds", "needs \"fallback\": \"sms\"");
    read_integer(body, "code_length", 4, 10, request.code_length, problems);
    read_integer(body, "ttl_seconds", 30, 3600, request.ttl_seconds, problems);
    if (read_string(body, "locale", request.locale, problems) && !is_language_tag(request.locale))
        problems.add("locale", "must be a BCP 47 language tag such as en or pt-BR");
    read_template(body, request, problems);
    read_sandbox(body, request.sandbox, problems);
    read_client_fields(body, request, problems);
    if (problems.any()) parsed.error = problems.error();
    return parsed;
}

Parsed<CheckRequest> parse_check_request(const json& body) {
    Parsed<CheckRequest> parsed;
    CheckRequest& request = parsed.value;
    Problems problems;
    refuse_unknown_fields(body, {"id", "to", "code", "sandbox"}, problems);
    bool has_id = read_string(body, "id", request.id, problems);
    bool has_to = read_string(body, "to", request.to, problems);
    if (has_id && has_to) problems.add("id", "give either id or to, not both");
    if (has_id && request.id.empty()) problems.add("id", "must be a verification id");
    if (!body.contains("id") && !body.contains("to")) problems.add("id", "id or to is required");
    static const std::regex code_pattern("^[0-9]{4,10}$");
    if (!body.contains("code"))
        problems.add("code", "is required");
    else if (read_string(body, "code", request.code, problems) &&
             !std::regex_match(request.code, code_pattern))
        problems.add("code", "must be 4 to 10 digits");
    read_sandbox(body, request.sandbox, problems);
    if (problems.any()) parsed.error = problems.error();
    return parsed;
}

Parsed<Receipt> parse_delivery_receipt(const json& body) {
    Parsed<Receipt> parsed;
    Receipt& receipt = parsed.value;
    Problems problems;
    std::string message_id;
    if (!read_string(body, "message_id", message_id, problems) && !body.contains("message_id"))
        problems.add("message_id", "is required");
    if (!read_string(body, "status", receipt.status, problems) && !body.contains("status"))
        problems.add("status", "is required");
    else if (!receipt.status.empty() && receipt.status != "delivered" && receipt.status != "failed")
        problems.add("status", "must be \"delivered\" or \"failed\"");
    if (!read_string(body, "channel", receipt.channel, problems) && !body.contains("channel"))
        problems.add("channel", "is required");
    else if (!receipt.channel.empty() && receipt.channel != "sms" && receipt.channel != "whatsapp")
        problems.add("channel", "must be \"sms\" or \"whatsapp\"");
    if (body.contains("error") && !body["error"].is_null())
        read_string(body, "error", receipt.error_code, problems);
    if (problems.any()) parsed.error = problems.error();
    return parsed;
}

namespace {

std::string text_at(const json& object, const char* name) {
    if (!object.is_object()) return {};
    auto found = object.find(name);
    return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

SentReceipt::Move move_of_sent_status(const std::string& status) {
    static const char* const kDelivered[] = {"DELIVERED", "READ"};
    static const char* const kFailed[] = {"FAILED",  "UNDELIVERED", "REJECTED",
                                          "EXPIRED", "CANCELED",    "CANCELLED"};
    // Acceptance and sending: verifyd recorded the acceptance itself.
    static const char* const kUnmoved[] = {"QUEUED",    "ACCEPTED", "PENDING", "PROCESSING",
                                           "SCHEDULED", "SENDING",  "SENT"};
    for (const char* name : kDelivered)
        if (status == name) return SentReceipt::Move::Deliver;
    for (const char* name : kFailed)
        if (status == name) return SentReceipt::Move::Fail;
    for (const char* name : kUnmoved)
        if (status == name) return SentReceipt::Move::None;
    return SentReceipt::Move::Unknown;
}

}  // namespace

SentReceipt read_sent_receipt(const json& body) {
    SentReceipt receipt;
    if (!body.is_object() || !body.contains("payload")) return receipt;
    const json& payload = body["payload"];
    receipt.provider_message_id = text_at(payload, "message_id");
    receipt.status = text_at(payload, "message_status");
    if (receipt.provider_message_id.empty() || receipt.status.empty()) {
        receipt.provider_message_id.clear();
        return receipt;
    }
    receipt.move = move_of_sent_status(receipt.status);
    receipt.error_code = text_at(payload, "error_code");
    if (receipt.error_code.empty() && payload.contains("error"))
        receipt.error_code = text_at(payload["error"], "code");
    return receipt;
}

Parsed<ListMessagesQuery> parse_list_messages_query(
    const std::vector<std::pair<std::string, std::string>>& query) {
    Parsed<ListMessagesQuery> parsed;
    Problems problems;
    bool has_to = false, has_since = false;
    for (const auto& [raw_name, raw_value] : query) {
        auto name = percent_decode(raw_name);
        auto value = percent_decode(raw_value);
        if (!name || !value) {
            problems.add("query", "has a malformed percent-encoding");
        } else if (*name == "to") {
            has_to = true;
            parsed.value.to = *value;
            if (value->empty()) problems.add("to", "must be a phone number in E.164");
        } else if (*name == "sandbox") {
            read_sandbox_parameter(*value, parsed.value.sandbox, problems);
        } else if (*name == "since") {
            has_since = true;
            parsed.value.since = *value;
        } else if (*name == "limit") {
            auto limit = parse_whole_number(*value).value_or(0);
            if (limit < 1 || limit > 100)
                problems.add("limit", "must be a whole number from 1 to 100");
            else
                parsed.value.limit = static_cast<int>(limit);
        } else {
            problems.add(*name, "is not a known query parameter");
        }
    }
    // Whether `to` may be left out depends on the caller's mode: the handler decides.
    if (has_to && has_since) problems.add("since", "is only for the listing without to");
    if (problems.any()) parsed.error = problems.error();
    return parsed;
}

Parsed<bool> parse_sandbox_query(const std::vector<std::pair<std::string, std::string>>& query) {
    Parsed<bool> parsed;
    Problems problems;
    for (const auto& [raw_name, raw_value] : query) {
        auto name = percent_decode(raw_name);
        auto value = percent_decode(raw_value);
        if (!name || !value)
            problems.add("query", "has a malformed percent-encoding");
        else if (*name == "sandbox")
            read_sandbox_parameter(*value, parsed.value, problems);
        else
            problems.add(*name, "is not a known query parameter");
    }
    if (problems.any()) parsed.error = problems.error();
    return parsed;
}

}  // namespace verifyd
