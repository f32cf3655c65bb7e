// The Twilio face's rules (twilio.hpp): form bodies, sids, the account SID, the mapping
// of verifyd's errors to Twilio's codes and bodies, and services' parameters.
#include "verifyd/twilio.hpp"

#include <sodium.h>

#include <catch2/catch.hpp>

using namespace verifyd;
using nlohmann::json;

TEST_CASE("a form decodes + as a space and %XX escapes, keys included") {
    auto form = parse_twilio_form("FriendlyName=My+App&To=%2B15005550006&Push.IncludeDate=true&&");
    REQUIRE(form.ok());
    CHECK(form.value == TwilioForm{{"FriendlyName", "My App"},
                                   {"To", "+15005550006"},
                                   {"Push.IncludeDate", "true"}});
    CHECK(parse_twilio_form("A%2EB=x").value == TwilioForm{{"A.B", "x"}});
    CHECK(parse_twilio_form("").value.empty());
    CHECK(parse_twilio_form("Empty=").value == TwilioForm{{"Empty", ""}});
}

TEST_CASE("a form with a parameter twice, a bad escape or a part without = is 60200 naming it") {
    for (const auto& [body, named] :
         std::vector<std::pair<std::string, std::string>>{{"To=1&To=2", "`To`"},
                                                          {"To=%2", "`To`"},
                                                          {"To=%zz", "`To`"},
                                                          {"To", "`To`"},
                                                          {"=x", "``"}}) {
        INFO(body);
        auto form = parse_twilio_form(body);
        REQUIRE(form.error);
        CHECK(twilio_error_code(*form.error).code == 60200);
        CHECK(twilio_error_code(*form.error).http_status == 400);
        CHECK(form.error->message.find(named) != std::string::npos);
    }
}

TEST_CASE("booleans are exactly true or false") {
    CHECK(parse_twilio_bool("true") == true);
    CHECK(parse_twilio_bool("false") == false);
    CHECK_FALSE(parse_twilio_bool("True"));
    CHECK_FALSE(parse_twilio_bool("1"));
    CHECK_FALSE(parse_twilio_bool(""));
}

TEST_CASE("the account SID is AC and the first 32 hex digits of the account's BLAKE2b-256") {
    unsigned char digest[32];
    const std::string account = "acct_demo";
    crypto_generichash(digest, sizeof digest,
                       reinterpret_cast<const unsigned char*>(account.data()), account.size(),
                       nullptr, 0);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    CHECK(twilio_account_sid(account) == "AC" + std::string(hex, 32));
    CHECK(twilio_account_sid("acct_demo") == "AC0f7699e4c04b2132dc1d6ee4366197bc");
    CHECK(twilio_account_sid("acct_a") != twilio_account_sid("acct_b"));
}

TEST_CASE("a sid is its prefix and 32 hex digits, and new ones are random") {
    const std::string sid = new_twilio_sid("VA");
    CHECK(is_twilio_sid(sid, "VA"));
    CHECK(sid != new_twilio_sid("VA"));
    CHECK(is_twilio_sid("VE0123456789ABCDEF0123456789abcdef", "VE"));
    CHECK_FALSE(is_twilio_sid(sid, "VE"));
    CHECK_FALSE(is_twilio_sid("VA0123456789abcdef0123456789abcde", "VA"));
    CHECK_FALSE(is_twilio_sid("VA0123456789abcdef0123456789abcdeg", "VA"));
}

TEST_CASE("dates are whole seconds in UTC with a Z") {
    CHECK(twilio_date(1438286400123) == "2015-07-30T20:00:00Z");
}

TEST_CASE("each of verifyd's errors has Twilio's code and status") {
    const std::vector<std::tuple<ErrorCode, int, int>> mapped = {
        {ErrorCode::InvalidRequest, 400, 60200},       {ErrorCode::InvalidPhone, 400, 60200},
        {ErrorCode::MissingApiKey, 401, 20003},        {ErrorCode::InvalidApiKey, 401, 20003},
        {ErrorCode::RevokedApiKey, 401, 20003},        {ErrorCode::ExpiredApiKey, 401, 20003},
        {ErrorCode::InsufficientScope, 403, 20003},    {ErrorCode::RateLimitExceeded, 429, 20429},
        {ErrorCode::DestinationBlocked, 403, 60605},   {ErrorCode::DestinationPaused, 403, 60410},
        {ErrorCode::VerificationNotFound, 404, 20404}, {ErrorCode::VerificationExpired, 404, 20404},
        {ErrorCode::MaxAttemptsExceeded, 429, 60202},  {ErrorCode::OtpRateLimit, 429, 60203},
        {ErrorCode::ClientRateLimit, 429, 60203},      {ErrorCode::MessageNotFound, 404, 20404},
        {ErrorCode::InternalError, 500, 20500},        {ErrorCode::ProviderError, 503, 20503},
    };
    for (const auto& [code, status, twilio] : mapped) {
        INFO(static_cast<int>(code));
        const TwilioErrorCode mapping = twilio_error_code(make_error(code));
        CHECK(mapping.http_status == status);
        CHECK(mapping.code == twilio);
    }
    CHECK(twilio_error_code(store_unavailable()).code == 20503);
    CHECK(twilio_error_code(with_status(make_error(ErrorCode::InvalidRequest), 404)).code == 20404);
    CHECK(twilio_error_code(with_status(make_error(ErrorCode::InvalidRequest), 405)).code == 20004);
    CHECK(twilio_error_code(twilio_parameter_error(60223, "Channel", "is not available")).code ==
          60223);
}

TEST_CASE("an error body is Twilio's four fields, a 429 and a 503 with Retry-After") {
    const HttpResponse paused = twilio_error_response(make_error(ErrorCode::DestinationPaused));
    const json body = json::parse(paused.body);
    CHECK(paused.status == 403);
    CHECK(body.size() == 4);
    CHECK(body["code"] == 60410);
    CHECK(body["status"] == 403);
    CHECK(body["more_info"] == "https://www.twilio.com/docs/errors/60410");
    CHECK(paused.headers.empty());

    const HttpResponse limited =
        twilio_error_response(with_retry_after(make_error(ErrorCode::OtpRateLimit), 42));
    CHECK(limited.status == 429);
    CHECK(limited.headers ==
          std::vector<std::pair<std::string, std::string>>{{"Retry-After", "42"}});
    const HttpResponse down = twilio_error_response(store_unavailable());
    CHECK(down.status == 503);
    REQUIRE(down.headers.size() == 1);
    CHECK(down.headers[0].first == "Retry-After");

    const json key = json::parse(twilio_error_response(make_error(ErrorCode::RevokedApiKey)).body);
    CHECK(key["message"] == "Authenticate");
}

TEST_CASE("a service keeps the documented parameters it is given, checked, and drops others") {
    auto kept =
        service_parameters({{"FriendlyName", "Acme"},
                            {"CodeLength", "4"},
                            {"Totp.Skew", "2"},
                            {"Whatsapp.MsgServiceSid", "MG0123456789abcdef0123456789abcdef"},
                            {"Unknown", "x"}},
                           true);
    REQUIRE(kept.ok());
    CHECK(kept.value.size() == 4);
    CHECK_FALSE(kept.value.count("Unknown"));
    CHECK(service_parameters({{"CodeLength", "6"}}, false).ok());
    CHECK(service_parameters({{"CodeLength", "6"}}, true).error);
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"CodeLength", "11"},
                                                          {"CodeLength", "3"},
                                                          {"CodeLength", "-5"},
                                                          {"Totp.TimeStep", "19"},
                                                          {"LookupEnabled", "TRUE"},
                                                          {"DefaultTemplateSid", "HJ123"},
                                                          {"FriendlyName", std::string(33, 'a')}}) {
        INFO(name << "=" << value);
        TwilioForm form = {{"FriendlyName", "Acme"}};
        form[name] = value;
        auto refused = service_parameters(form, true);
        REQUIRE(refused.error);
        CHECK(refused.error->message.find("`" + name + "`") != std::string::npos);
    }
}

TEST_CASE("a service's resource renders its parameters with Twilio's defaults") {
    TwilioService service{
        "VA0123456789abcdef0123456789abcdef", {{"FriendlyName", "Acme"}}, 1000, 2000};
    const json resource = service_resource(service, "ACx", "http://h:1");
    CHECK(resource["code_length"] == 6);
    CHECK(resource["dtmf_input_required"] == true);
    CHECK(resource["push"]["include_date"] == true);
    CHECK(resource["passkeys"]["relying_party"]["origins"].is_null());
    CHECK(resource["date_updated"] == "1970-01-01T00:00:02Z");
    CHECK(resource["links"].size() == 7);
    service.parameters["Passkeys.RelyingParty.Origins"] = "https://a.test, https://b.test";
    CHECK(service_resource(service, "ACx", "http://h:1")["passkeys"]["relying_party"]["origins"] ==
          json{"https://a.test", "https://b.test"});
    CHECK(service_code_length(service) == 6);
}
