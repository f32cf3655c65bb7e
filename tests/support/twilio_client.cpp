// The Twilio face's test client (twilio_client.hpp).
#include "support/twilio_client.hpp"

#include <sodium.h>

#include <catch2/catch.hpp>

namespace verifyd_test {

Headers basic_auth(const std::string& user, const std::string& password) {
    const std::string credentials = user + ":" + password;
    std::string encoded(
        sodium_base64_encoded_len(credentials.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(encoded.data(), encoded.size(),
                      reinterpret_cast<const unsigned char*>(credentials.data()),
                      credentials.size(), sodium_base64_VARIANT_ORIGINAL);
    encoded.resize(encoded.find('\0'));
    return {{"Authorization", "Basic " + encoded}};
}

HttpResponse TwilioClient::request(const std::string& method, const std::string& target,
                                   const std::string& form, Headers extra) {
    Headers headers = auth;
    if (method == "POST" && !form.empty())
        headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    headers.insert(headers.end(), extra.begin(), extra.end());
    return v.client().request(method, target, headers, form);
}

TwilioClient as_account(VerifydInstance& v, const std::string& account, const std::string& key) {
    return {v, basic_auth(twilio_account_sid_of(account), v.key(key))};
}

nlohmann::json created_service(TwilioClient& client, const std::string& form) {
    HttpResponse created = client.request("POST", "/v2/Services", form);
    INFO(created.body);
    REQUIRE(created.status == 201);
    return created.json();
}

void require_twilio_error(const HttpResponse& response, int status, int code) {
    INFO(response.status << " " << response.body);
    REQUIRE(response.status == status);
    const nlohmann::json body = response.json();
    REQUIRE(body.is_object());
    CHECK(body.size() == 4);
    CHECK(body["code"] == code);
    CHECK(body["status"] == status);
    CHECK(body["more_info"] == "https://www.twilio.com/docs/errors/" + std::to_string(code));
    CHECK(body["message"].is_string());
    CHECK_FALSE(body.contains("type"));
    CHECK_FALSE(body.contains("title"));
}

}  // namespace verifyd_test
