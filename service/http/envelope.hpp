// The JSON envelope of every API response (§1): {"data"|"error": …, "meta": {…},
// "success": …}, and an error's body and Retry-After header. Not for: the shape of
// `data` (views.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "verifyd/errors.hpp"
#include "verifyd/http.hpp"

namespace verifyd {

// A JSON object written straight to text, for the answers of the hottest routes (check,
// and the Twilio face's VerificationCheck),
// where a nlohmann::json costs a map node per member. Members go in the order given:
// callers give them sorted, as nlohmann writes its objects.
class JsonObjectText {
  public:
    JsonObjectText& member(const char* name, const std::string& text);
    JsonObjectText& member(const char* name, long long number);
    JsonObjectText& member(const char* name, bool flag);
    // A value that is JSON text already: null, [].
    JsonObjectText& literal(const char* name, const char* json);
    // A literal would otherwise be taken for a bool.
    JsonObjectText& member(const char* name, const char* text) = delete;
    std::string close() &&;

  private:
    void name_of(const char* name);
    std::string text_ = "{";
};

HttpResponse success_response(const std::string& request_id, int status,
                              const nlohmann::json& data);
// The same, with `data` already JSON text.
HttpResponse success_response_text(const std::string& request_id, int status,
                                   const std::string& data);
HttpResponse error_response(const std::string& request_id, const ApiError& error);

}  // namespace verifyd
