// What a provider's answer means: sent (and under which id), refused for good (and, for
// WhatsApp, why) or to be retried (and after how long: Retry-After's seconds or
// HTTP-date). The error text is for people and never shows the code. Not for: making
// the call (transport.cpp) or deciding when the retry happens (the outbox).
#include "service/delivery/answers.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

// Codes live at most a day (VERIFYD_CODE_TTL ≤ 86400), so a longer wait is never useful;
// the cap also keeps the outbox's millisecond arithmetic far from overflow.
constexpr int kMaxRetryAfterSeconds = 86400;
constexpr size_t kMaxErrorTextBytes = 300;

const json* member(const json& object, const char* key) {
    if (!object.is_object()) return nullptr;
    const auto found = object.find(key);
    return found == object.end() ? nullptr : &*found;
}

// A string as it is, an integer in decimal (providers send codes as either); else nothing.
std::string scalar_text(const json* value) {
    if (value == nullptr) return "";
    if (value->is_string()) return value->get<std::string>();
    if (value->is_number_integer()) return value->dump();
    return "";
}

std::string provider_message_id(const json& answer) {
    const json* data = member(answer, "data");
    const json* messages = data == nullptr ? nullptr : member(*data, "messages");
    const json* first = messages != nullptr && messages->is_array() && !messages->empty()
                            ? &(*messages)[0]
                            : nullptr;
    for (const json* candidate : {data == nullptr ? nullptr : member(*data, "id"),
                                  first == nullptr ? nullptr : member(*first, "id"),
                                  member(answer, "id"), member(answer, "message_id")}) {
        const std::string id = scalar_text(candidate);
        if (!id.empty()) return id;
    }
    return "";
}

// What a provider said about a failure: Sent's {"error": {"code", "message"}}, SendAPI's
// {"error": {"code", "type", "message"}}, or a bare {"error": "..."}.
struct ProviderError {
    std::string message;
    std::string code;
    std::vector<std::string> tokens;  // the machine-readable names, for the WhatsApp reasons
};

ProviderError read_error(const json& answer) {
    ProviderError error;
    const json* field = member(answer, "error");
    if (field == nullptr) return error;
    if (field->is_string()) {
        error.message = field->get<std::string>();
        error.tokens.push_back(error.message);
        return error;
    }
    error.code = scalar_text(member(*field, "code"));
    const std::string type = scalar_text(member(*field, "type"));
    error.message = scalar_text(member(*field, "message"));
    if (error.message.empty()) error.message = type;
    for (const std::string& token : {error.code, type})
        if (!token.empty()) error.tokens.push_back(token);
    return error;
}

// Control characters out and a length cap that does not split a UTF-8 sequence: the text
// is for people and ends up in logs and stored records.
std::string printable(const std::string& text) {
    std::string out;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out += byte < 0x20 || byte == 0x7f ? ' ' : c;
    }
    if (out.size() > kMaxErrorTextBytes) {
        size_t end = kMaxErrorTextBytes;
        while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
        out.resize(end);
        out += "...";
    }
    return out;
}

// Only what the provider said goes in, never the request. The text is stored and shown
// for live messages, which must never show their code, so a code the provider quotes
// back is masked; before the cut, which would leave the first digits of one it splits.
std::string describe(long status, const ProviderError& error, const std::string& code) {
    if (status == 0) return "no answer from the provider";
    std::string details = error.message;
    if (!error.code.empty())
        details = details.empty() ? error.code : details + " (" + error.code + ")";
    std::string text = "HTTP " + std::to_string(status);
    if (!details.empty()) text += ": " + details;
    if (!code.empty())
        for (size_t at = text.find(code); at != std::string::npos; at = text.find(code, at))
            text.replace(at, code.size(), "[code]");
    return printable(text);
}

// Sent's, SendAPI's and the dashboard's names for why WhatsApp cannot take a message.
struct RefusalReason {
    const char* reason;
    const char* names[4];  // lowercase; unused entries are null
};

const RefusalReason kRefusalReasons[] = {
    {"template_not_approved",
     {"business_005", "template_not_approved", "4005", "invalid_template"}},
    {"recipient_not_capable", {"business_007", "channel_unavailable", "recipient_not_capable"}},
    {"channel_not_connected", {"4003", "session_not_connected", "channel_not_connected"}},
};

std::string whatsapp_refusal(const std::vector<std::string>& tokens) {
    for (const std::string& token : tokens) {
        const std::string name = lowercase(token);
        for (const RefusalReason& reason : kRefusalReasons)
            for (const char* known : reason.names)
                if (known != nullptr && name == known) return reason.reason;
    }
    return "provider_error";
}

// Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else is none.
int retry_after_seconds(const std::optional<std::string>& header) {
    if (!header) return 0;
    const std::string value = trim(*header);
    if (value.empty()) return 0;
    if (std::all_of(value.begin(), value.end(),
                    [](unsigned char c) { return std::isdigit(c) != 0; })) {
        if (value.size() > 9) return kMaxRetryAfterSeconds;
        return std::min(std::stoi(value), kMaxRetryAfterSeconds);
    }
    const time_t when = curl_getdate(value.c_str(), nullptr);
    if (when == -1) return 0;
    const time_t now = std::time(nullptr);
    if (when <= now) return 1;
    return static_cast<int>(std::min<time_t>(when - now, kMaxRetryAfterSeconds));
}

bool refused_for_good(long status) {
    // 408, 409 (Sent: "Concurrent idempotent request in progress") and 429 ask for a retry.
    return status >= 400 && status < 500 && status != 408 && status != 409 && status != 429;
}

}  // namespace

DeliveryResult classify_answer(long status, const std::string& body,
                               const std::optional<std::string>& retry_after,
                               const std::string& channel, const std::string& code) {
    DeliveryResult result;
    const json answer = json::parse(body, nullptr, false);
    if (status >= 200 && status < 300) {
        result.outcome = DeliveryOutcome::Sent;
        result.provider_message_id = provider_message_id(answer);
        return result;
    }
    const ProviderError error = read_error(answer);
    result.error = describe(status, error, code);
    if (refused_for_good(status)) {
        result.outcome = DeliveryOutcome::Refused;
        if (channel == "whatsapp") result.whatsapp_refusal = whatsapp_refusal(error.tokens);
        return result;
    }
    // No answer, 408, 409, 429, 5xx, and whatever else is not a final refusal.
    result.outcome = DeliveryOutcome::Retry;
    result.retry_after_seconds = retry_after_seconds(retry_after);
    return result;
}

DeliveryResult result_of(const HttpAnswer& answer, const OutgoingMessage& message) {
    const json* code = member(message.variables, "code");
    DeliveryResult result =
        classify_answer(answer.status, answer.body, answer.retry_after, message.channel,
                        code != nullptr && code->is_string() ? code->get<std::string>() : "");
    // libcurl's reason is about the connection and never holds the code.
    if (answer.status == 0 && !answer.failure.empty()) result.error += ": " + answer.failure;
    return result;
}

std::string whatsapp_refusal_of(const std::string& error_code) {
    return whatsapp_refusal({error_code});
}

}  // namespace verifyd
