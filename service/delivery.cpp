// The providers that make one delivery attempt (§7) and the reading of their answers:
// `log` (development only: it writes live codes to the log), `sent` (the Sent platform's
// POST /v3/messages) and `webhook` (a signed POST to the operator's URL), plus the
// webhook signature that receivers check. Not for: retries, backoff, fallback or
// queueing, which the outbox decides from a DeliveryResult.
#include "verifyd/delivery.hpp"

#include <curl/curl.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "verifyd/crypto.hpp"
#include "verifyd/log.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Codes live at most an hour, so a longer wait is as good as a day; the cap also keeps
// the outbox's millisecond arithmetic far from overflow.
constexpr int kMaxRetryAfterSeconds = 86400;
// Enough for any error or success document; a provider that sends more is not read further.
constexpr size_t kMaxAnswerBytes = 64 * 1024;
constexpr size_t kMaxErrorTextBytes = 300;

using Mac = std::array<unsigned char, crypto_auth_hmacsha256_BYTES>;

std::string ascii_lower(std::string text) {
    for (char& c : text)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return text;
}

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
        const std::string name = ascii_lower(token);
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

Mac webhook_mac(const std::string& secret, int64_t unix_time, const std::string& body) {
    // init/update/final take a key of any length, so an operator's secret is used as is.
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                                secret.size());
    const std::string prefix = std::to_string(unix_time) + ".";
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(prefix.data()),
                                  prefix.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                  body.size());
    Mac mac;
    crypto_auth_hmacsha256_final(&state, mac.data());
    return mac;
}

std::optional<Mac> parse_mac_hex(const std::string& hex) {
    Mac mac;
    auto bytes = from_hex(hex, mac.size());
    if (!bytes) return std::nullopt;
    std::copy(bytes->begin(), bytes->end(), mac.begin());
    return mac;
}

std::string dump(const ordered_json& document) {
    // A stray invalid UTF-8 byte must not turn a delivery into an exception.
    return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

class LogProvider : public Provider {
  public:
    LogProvider() {
        static std::once_flag warned;
        std::call_once(warned, [] {
            log_event(LogLevel::Warn,
                      "VERIFYD_PROVIDER=log writes live codes to this log; use it for local "
                      "development only");
        });
    }
    const char* name() const override { return "log"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        const json line = {{"message_id", message.message_id},
                           {"verification_id", message.verification_id},
                           {"to", message.to},
                           {"channel", message.channel},
                           {"locale", message.locale},
                           {"template", message.template_name},
                           {"variables", message.variables},
                           {"body", message.body}};
        log_event(LogLevel::Warn, "log provider delivery (development only)", line);
        DeliveryResult result;
        result.outcome = DeliveryOutcome::Sent;
        return result;
    }
};

struct HttpAnswer {
    long status = 0;  // 0: no complete answer
    std::string body;
    std::optional<std::string> retry_after;
    std::string failure;  // libcurl's reason when there was no answer
};

size_t collect_body(char* data, size_t size, size_t count, void* user) {
    auto* answer = static_cast<HttpAnswer*>(user);
    const size_t bytes = size * count;
    const size_t room = kMaxAnswerBytes - std::min(kMaxAnswerBytes, answer->body.size());
    answer->body.append(data, std::min(bytes, room));
    return bytes;
}

size_t collect_header(char* data, size_t size, size_t count, void* user) {
    auto* answer = static_cast<HttpAnswer*>(user);
    const size_t bytes = size * count;
    std::string line(data, bytes);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    // A status line starts a new response (after a 1xx): only the final one's headers count.
    if (line.compare(0, 5, "HTTP/") == 0) {
        answer->retry_after.reset();
        return bytes;
    }
    const size_t colon = line.find(':');
    if (colon != std::string::npos && ascii_lower(line.substr(0, colon)) == "retry-after")
        answer->retry_after = trim(line.substr(colon + 1));
    return bytes;
}

void init_curl_once() {
    static std::once_flag initialised;
    std::call_once(initialised, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw std::runtime_error("libcurl could not be initialised");
    });
}

// One libcurl easy handle, kept between calls so that its connection is reused.
class HttpClient {
  public:
    explicit HttpClient(const Config& config) {
        init_curl_once();
        curl_ = curl_easy_init();
        if (curl_ == nullptr) throw std::runtime_error("libcurl could not make a handle");
        const long timeout_ms = config.delivery.timeout_ms;
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
        // A redirect would resend the API key and the code to wherever it points.
        curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl_, CURLOPT_USERAGENT, "verifyd/" VERIFYD_VERSION);
        curl_easy_setopt(curl_, CURLOPT_POST, 1L);
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &collect_body);
        curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &collect_header);
    }
    ~HttpClient() { curl_easy_cleanup(curl_); }
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    HttpAnswer post(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body) {
        HttpAnswer answer;
        curl_slist* list = nullptr;
        // "Expect:" off: waiting for 100 Continue would only add a round trip.
        for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
        list = curl_slist_append(list, "Expect:");
        curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &answer);
        curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &answer);
        const CURLcode code = curl_easy_perform(curl_);
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
        curl_slist_free_all(list);
        if (code != CURLE_OK) {
            // A timeout halfway through the answer is no answer: the retry is idempotent.
            answer.status = 0;
            answer.failure = curl_easy_strerror(code);
            return answer;
        }
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &answer.status);
        return answer;
    }

  private:
    CURL* curl_ = nullptr;
};

DeliveryResult result_of(const HttpAnswer& answer, const OutgoingMessage& message) {
    const json* code = member(message.variables, "code");
    DeliveryResult result =
        classify_answer(answer.status, answer.body, answer.retry_after, message.channel,
                        code != nullptr && code->is_string() ? code->get<std::string>() : "");
    // libcurl's reason is about the connection and never holds the code.
    if (answer.status == 0 && !answer.failure.empty()) result.error += ": " + answer.failure;
    return result;
}

class SentProvider : public Provider {
  public:
    explicit SentProvider(const Config& config) : http_(config), settings_(config.sent) {
        std::string base = settings_.base_url;
        if (!base.empty() && base.back() == '/') base.pop_back();
        url_ = base + "/v3/messages";
    }
    const char* name() const override { return "sent"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        ordered_json request = {
            {"to", ordered_json::array({message.to})},
            {"channel", ordered_json::array({message.channel})},
            {"template",
             {{"name", settings_.template_name},
              {"parameters", message.variables.is_object() ? ordered_json(message.variables)
                                                           : ordered_json::object()}}}};
        if (!settings_.sender_profile_id.empty())
            request["sender_profile_id"] = settings_.sender_profile_id;
        const HttpAnswer answer = http_.post(
            url_,
            {"x-api-key: " + settings_.api_key, "Idempotency-Key: " + message.idempotency_key,
             "Content-Type: application/json", "Accept: application/json"},
            dump(request));
        return result_of(answer, message);
    }

  private:
    HttpClient http_;
    SentSettings settings_;
    std::string url_;
};

class WebhookProvider : public Provider {
  public:
    explicit WebhookProvider(const Config& config) : http_(config), settings_(config.webhook) {}
    const char* name() const override { return "webhook"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        const ordered_json event = {
            {"type", "verification.message"},
            {"message_id", message.message_id},
            {"verification_id", message.verification_id},
            {"to", message.to},
            {"channel", message.channel},
            {"locale", message.locale},
            {"template",
             {{"name", message.template_name}, {"variables", ordered_json(message.variables)}}},
            {"body", message.body},
            {"attempt", message.attempt}};
        const std::string body = dump(event);
        const std::string signature =
            webhook_signature(settings_.secret, static_cast<int64_t>(std::time(nullptr)), body);
        const HttpAnswer answer = http_.post(
            settings_.url,
            {"Content-Type: application/json", "Idempotency-Key: " + message.idempotency_key,
             "X-Verifyd-Signature: " + signature},
            body);
        return result_of(answer, message);
    }

  private:
    HttpClient http_;
    WebhookSettings settings_;
};

}  // namespace

std::unique_ptr<Provider> make_provider(const Config& config) {
    switch (config.provider) {
        case ProviderKind::Log:
            return std::make_unique<LogProvider>();
        case ProviderKind::Sent:
            return std::make_unique<SentProvider>(config);
        case ProviderKind::Webhook:
            return std::make_unique<WebhookProvider>(config);
        case ProviderKind::None:
            break;
    }
    return nullptr;
}

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

std::string webhook_signature(const std::string& secret, int64_t unix_time,
                              const std::string& body) {
    const Mac mac = webhook_mac(secret, unix_time, body);
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac.data(), mac.size());
    return "t=" + std::to_string(unix_time) + ",v1=" + hex;
}

bool verify_webhook_signature(const std::string& secret, const std::string& header,
                              const std::string& body, int64_t now_unix, int tolerance_seconds) {
    if (tolerance_seconds < 0) return false;
    std::optional<int64_t> signed_at;
    std::vector<Mac> signatures;
    for (const std::string& part : split(header, ',')) {
        const std::string field = trim(part);
        const size_t equals = field.find('=');
        if (equals == std::string::npos || equals == 0) return false;
        const std::string key = field.substr(0, equals);
        const std::string value = field.substr(equals + 1);
        if (key == "t") {
            const auto seconds = parse_whole_number(value);
            if (!seconds || signed_at) return false;
            signed_at = *seconds;
        } else if (key == "v1") {
            const auto mac = parse_mac_hex(value);
            if (!mac) return false;
            signatures.push_back(*mac);
        }
        // Other keys are other schemes (a future v2), which this receiver does not check.
    }
    if (!signed_at || signatures.empty()) return false;
    // The distance in unsigned arithmetic cannot overflow, whatever the two times are.
    const uint64_t distance =
        *signed_at >= now_unix
            ? static_cast<uint64_t>(*signed_at) - static_cast<uint64_t>(now_unix)
            : static_cast<uint64_t>(now_unix) - static_cast<uint64_t>(*signed_at);
    if (distance > static_cast<uint64_t>(tolerance_seconds)) return false;
    const Mac expected = webhook_mac(secret, *signed_at, body);
    bool matches = false;
    for (const Mac& signature : signatures)
        matches |= sodium_memcmp(signature.data(), expected.data(), expected.size()) == 0;
    return matches;
}

}  // namespace verifyd
