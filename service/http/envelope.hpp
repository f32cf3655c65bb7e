// The JSON envelope of every API response (§1): {"data"|"error": …, "meta": {…},
// "success": …}, and an error's body and Retry-After header. Not for: the shape of
// `data` (views.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "verifyd/errors.hpp"
#include "verifyd/http.hpp"

namespace verifyd {

HttpResponse success_response(const std::string& request_id, int status,
                              const nlohmann::json& data);
HttpResponse error_response(const std::string& request_id, const ApiError& error);

}  // namespace verifyd
