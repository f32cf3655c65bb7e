// The sandbox inbox page's files (web/sandbox/), built into the binary by
// cmake/embed_web.cmake. Not for: serving them (service/http/handlers/sandbox.cpp) or the
// listing the page reads (GET /messages).
#pragma once

#include <optional>
#include <string_view>

namespace verifyd {

struct WebAsset {
    const char* content_type;
    std::string_view body;
};

// "index.html", "app.css", "app.js" or "icon.svg"; nothing for any other name.
std::optional<WebAsset> sandbox_asset(std::string_view name);

}  // namespace verifyd
