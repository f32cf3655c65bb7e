// The libcurl client of the HTTP providers: one POST, its answer's status, body (capped)
// and Retry-After header, or libcurl's reason for having none. Not for: reading the
// answer, which answers.cpp does.
#include "service/delivery/transport.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

// Enough for any error or success document; a provider that sends more is not read further.
constexpr size_t kMaxAnswerBytes = 64 * 1024;

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
    if (colon != std::string::npos && lowercase(line.substr(0, colon)) == "retry-after")
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

}  // namespace

HttpClient::HttpClient(int timeout_ms) {
    init_curl_once();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) throw std::runtime_error("libcurl could not make a handle");
    const long timeout = timeout_ms;
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    // A redirect would resend the API key and the code to wherever it points.
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "verifyd/" VERIFYD_VERSION);
    curl_easy_setopt(curl_, CURLOPT_POST, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &collect_body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &collect_header);
}

HttpClient::~HttpClient() {
    curl_easy_cleanup(curl_);
}

HttpAnswer HttpClient::post(const std::string& url, const std::vector<std::string>& headers,
                            const std::string& body) {
    HttpAnswer answer;
    curl_slist* list = nullptr;
    for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
    // "Expect:" off: waiting for 100 Continue would only add a round trip.
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

std::string json_body(const nlohmann::ordered_json& document) {
    // A stray invalid UTF-8 byte must not turn a delivery into an exception.
    return document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace verifyd
