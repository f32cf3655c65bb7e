// Authentication (authentication.hpp).
#include "service/http/authentication.hpp"

#include <chrono>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The key the request presents; "" for an Authorization header that is not Bearer,
// nothing when it presents none.
std::optional<std::string> presented_key(const HttpRequest& request) {
    if (auto authorization = request.header("Authorization")) {
        const std::string bearer = "bearer ";
        if (authorization->size() > bearer.size() &&
            lowercase(authorization->substr(0, bearer.size())) == bearer)
            return authorization->substr(bearer.size());
        return std::string();
    }
    return request.header("x-api-key");
}

}  // namespace

std::optional<ApiError> authenticate(const HttpRequest& request, unsigned scope,
                                     Exchange& exchange) {
    auto presented = presented_key(request);
    if (!presented) return make_error(ErrorCode::MissingApiKey);
    AuthResult auth = exchange.credentials->keys.authenticate(*presented, now_seconds());
    if (auth.error) return make_error(*auth.error);
    if (!(auth.key->scopes & scope)) return make_error(ErrorCode::InsufficientScope);
    // A test key is always in sandbox; a live key's request may ask for it.
    exchange.caller = {auth.key->account, auth.key->id, auth.key->requests_per_minute,
                       !auth.key->live};
    exchange.authenticated = true;
    exchange.live_key = auth.key->live;
    return std::nullopt;
}

}  // namespace verifyd
