// A client of verifyd's Twilio face (§11) as any HTTP client is one: HTTP Basic with an
// account SID and a key, form bodies, and the check that an answer is exactly Twilio's
// error body. Not for: the official SDK's view (tests/twilio/).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "support/verifyd_instance.hpp"

namespace verifyd_test {

// Authorization: Basic of `user` and `password`.
Headers basic_auth(const std::string& user, const std::string& password);

struct TwilioClient {
    VerifydInstance& v;
    Headers auth;

    // `form` is sent as application/x-www-form-urlencoded when not empty.
    HttpResponse request(const std::string& method, const std::string& target,
                         const std::string& form = {}, Headers extra = {});
};

// A client of the account `account` with the key named `key` (test_keys.hpp).
TwilioClient as_account(VerifydInstance& v, const std::string& account, const std::string& key);

// POST /v2/Services with `form`, required to answer 201: the service created.
nlohmann::json created_service(TwilioClient& client, const std::string& form);

// Twilio's error body, exactly: code, message, more_info, status, and nothing that
// Twilio's SDKs would read as another format (type, title).
void require_twilio_error(const HttpResponse& response, int status, int code);

}  // namespace verifyd_test
