// Request bodies and query strings of the API, parsed and validated into plain structs.
// Every problem is reported per field in ApiError::details. Not for: authentication,
// phone validation beyond the field's type, or anything that needs Redis.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/delivery.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/http.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

struct SendRequest {
    std::string to;
    std::string channel = "sms";
    std::string fallback;
    int fallback_after_seconds = 0;  // 0 = no fallback timer
    int code_length = 6;
    int ttl_seconds = 600;
    std::string locale = kDefaultLocale;
    std::string template_name;
    nlohmann::json template_variables = nlohmann::json::object();
    bool sandbox = false;
    // The end user's address as the network it is limited by (fraud_guard.hpp
    // client_network) and id (§10.2); empty = not given.
    std::string client_network;
    std::string client_id;
    // The Twilio face's (§11; never from a native request): the service of the send and
    // a new VE sid, each without its two letters (Verification).
    std::string service_sid;
    std::string twilio_sid;
};

struct CheckRequest {
    std::string id;  // exactly one of id and to
    std::string to;
    std::string code;
    bool sandbox = false;
};

struct ListMessagesQuery {
    std::string to;  // empty: the account's sandbox messages (the sandbox inbox, §13)
    int limit = 10;
    bool sandbox = false;
    std::string since;  // without `to`: a message id; only the messages after it
};

template <typename T>
struct Parsed {
    T value{};
    std::optional<ApiError> error;
};

// The request's body as a JSON object, or 4000 (413 when larger than 16 KiB). A body
// that is not JSON and came with a Content-Type other than JSON is refused naming that
// header, since the client most likely sent a form or text by mistake; a JSON body is
// read whatever its Content-Type says.
Parsed<nlohmann::json> parse_json_body(const HttpRequest& request);

Parsed<SendRequest> parse_send_request(const nlohmann::json& body, const ApiSettings& settings);
Parsed<CheckRequest> parse_check_request(const nlohmann::json& body);
Parsed<ListMessagesQuery> parse_list_messages_query(
    const std::vector<std::pair<std::string, std::string>>& query);
// The query of a request that names a verification or message by id: only `sandbox`.
Parsed<bool> parse_sandbox_query(const std::vector<std::pair<std::string, std::string>>& query);

// The body of a receipt to POST /webhooks/delivery: message_id, status (delivered or
// failed), channel (sms or whatsapp), and optionally error (the provider's code).
Parsed<Receipt> parse_delivery_receipt(const nlohmann::json& body);

// What a Sent status webhook says (docs/API.md §7.1): the message it is about
// (payload.message_id, Sent's id; empty when the event is not about a message), what its
// payload.message_status means for the message, and Sent's error code
// (payload.error_code, or payload.error.code).
struct SentReceipt {
    enum class Move { Deliver, Fail, None, Unknown };
    std::string provider_message_id;
    std::string status;  // as Sent wrote it
    Move move = Move::None;
    std::string error_code;
};
SentReceipt read_sent_receipt(const nlohmann::json& body);

// A BCP 47 language tag, e.g. "en", "pt-BR", "zh-Hant-TW".
bool is_language_tag(const std::string& tag);

}  // namespace verifyd
