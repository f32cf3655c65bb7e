// The HTTP client that the sent and webhook providers post through (libcurl), and what
// a POST came back with. Not for: what the answer means (answers.hpp) or what is posted.
#pragma once

#include <curl/curl.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace verifyd {

struct HttpAnswer {
    long status = 0;  // 0: no complete answer
    std::string body;
    std::optional<std::string> retry_after;
    std::string failure;  // libcurl's reason when there was no answer
};

// One libcurl easy handle, kept between calls so that its connection is reused.
class HttpClient {
  public:
    // `timeout_ms` bounds each call, connect included.
    explicit HttpClient(int timeout_ms);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    HttpAnswer post(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body);

  private:
    CURL* curl_ = nullptr;
};

// A request body as JSON text.
std::string json_body(const nlohmann::ordered_json& document);

}  // namespace verifyd
