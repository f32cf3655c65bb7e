// Authentication (authentication.hpp).
#include "service/http/authentication.hpp"

#include "verifyd/clock.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/text.hpp"
#include "verifyd/twilio.hpp"

namespace verifyd {
namespace {

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

// The Twilio face's HTTP Basic credentials (§11): the account SID as user, a key as
// password; nothing when the request presents none.
struct BasicCredentials {
    std::string user;
    std::string password;
};
std::optional<BasicCredentials> presented_basic(const HttpRequest& request) {
    auto authorization = request.header("Authorization");
    const std::string basic = "basic ";
    if (!authorization || authorization->size() <= basic.size() ||
        lowercase(authorization->substr(0, basic.size())) != basic)
        return std::nullopt;
    auto decoded = decode_base64(trim(authorization->substr(basic.size())));
    if (!decoded) return BasicCredentials{};
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) return BasicCredentials{};
    return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

// The key the request presents, and for the Twilio face the account SID it must belong to.
std::optional<std::string> presented_credentials(const HttpRequest& request,
                                                 const Exchange& exchange,
                                                 std::string& account_sid) {
    if (!exchange.twilio_face) return presented_key(request);
    auto basic = presented_basic(request);
    if (!basic) return std::nullopt;
    account_sid = basic->user;
    return basic->password;
}

}  // namespace

std::optional<ApiError> authenticate(const HttpRequest& request, unsigned scope,
                                     Exchange& exchange) {
    std::string account_sid;
    auto presented = presented_credentials(request, exchange, account_sid);
    if (!presented) return make_error(ErrorCode::MissingApiKey);
    AuthResult auth = exchange.credentials->keys.authenticate(*presented, wall_clock_ms() / 1000);
    if (auth.error) return make_error(*auth.error);
    // Any mismatch says no more than a wrong key would (§11).
    if (exchange.twilio_face && account_sid != twilio_account_sid(auth.key->account))
        return make_error(ErrorCode::InvalidApiKey);
    if (!(auth.key->scopes & scope)) return make_error(ErrorCode::InsufficientScope);
    // A test key is always in sandbox; a live key's request may ask for it.
    exchange.caller = {auth.key->account, auth.key->id, auth.key->requests_per_minute,
                       !auth.key->live};
    exchange.authenticated = true;
    exchange.live_key = auth.key->live;
    exchange.twilio_account_sid = std::move(account_sid);
    return std::nullopt;
}

}  // namespace verifyd
