// The OpenAPI 3.1 document of the API (docs/openapi.json), built into the binary by
// cmake/embed_openapi.cmake. Not for: serving it (service/http/handlers/openapi.cpp).
#pragma once

#include <string_view>

namespace verifyd {

std::string_view openapi_document();

}  // namespace verifyd
