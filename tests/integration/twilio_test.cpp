// The Twilio face's wire format (§11) as any HTTP client sees it: HTTP Basic with the
// account SID, form bodies, Twilio's resources and error bodies, services that belong to
// one account. The official SDK's view of the same: twilio_sdk_test.cpp.
#include <catch2/catch.hpp>

#include "support/twilio_client.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

std::string repeat_text(const std::string& part, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += part;
    return out;
}

}  // namespace

TEST_CASE("a service is created from a form and answers every documented field") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const json service = created_service(
        client,
        "FriendlyName=Acme%20Login&CodeLength=8&LookupEnabled=true&Totp.Issuer=Acme+Inc."
        "&Totp.TimeStep=30&Whatsapp.From=whatsapp%3A%2B15005550006&Unknown=ignored");
    CHECK(service["sid"].get<std::string>().size() == 34);
    CHECK(service["account_sid"] == twilio_account_sid_of(kAccountA));
    CHECK(service["friendly_name"] == "Acme Login");
    CHECK(service["code_length"] == 8);
    CHECK(service["lookup_enabled"] == true);
    CHECK(service["totp"] == json{{"issuer", "Acme Inc."},
                                  {"time_step", 30},
                                  {"code_length", nullptr},
                                  {"skew", nullptr}});
    CHECK(service["whatsapp"]["from"] == "whatsapp:+15005550006");
    CHECK(service["tts_name"].is_null());
    for (const char* field :
         {"psd2_enabled", "skip_sms_to_landlines", "dtmf_input_required", "tts_name",
          "do_not_share_warning_enabled", "custom_code_enabled", "push", "default_template_sid",
          "passkeys", "verify_event_subscription_enabled", "date_created", "date_updated", "url",
          "links"})
        CHECK(service.contains(field));
    CHECK_FALSE(service.contains("Unknown"));
    CHECK(service["date_created"].get<std::string>().size() == 20);
    const std::string url = "http://127.0.0.1:" + std::to_string(v.port()) + "/v2/Services/" +
                            service["sid"].get<std::string>();
    CHECK(service["url"] == url);
    CHECK(service["links"]["verification_checks"] == url + "/VerificationCheck");

    const HttpResponse fetched =
        client.request("GET", "/v2/Services/" + service["sid"].get<std::string>());
    REQUIRE(fetched.status == 200);
    CHECK(fetched.json() == service);
}

TEST_CASE("an update sets only what it names, and a deleted service is gone") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string sid = created_service(client, "FriendlyName=Acme&CodeLength=8")["sid"];
    const HttpResponse updated = client.request("POST", "/v2/Services/" + sid, "CodeLength=5");
    REQUIRE(updated.status == 200);
    CHECK(updated.json()["friendly_name"] == "Acme");
    CHECK(updated.json()["code_length"] == 5);

    const HttpResponse deleted = client.request("DELETE", "/v2/Services/" + sid);
    CHECK(deleted.status == 204);
    CHECK(deleted.body.empty());
    require_twilio_error(client.request("GET", "/v2/Services/" + sid), 404, 20404);
    require_twilio_error(client.request("POST", "/v2/Services/" + sid, "CodeLength=6"), 404, 20404);
    require_twilio_error(client.request("DELETE", "/v2/Services/" + sid), 404, 20404);
    require_twilio_error(client.request("GET", "/v2/Services/not-a-sid"), 404, 20404);
}

TEST_CASE("services page in creation order with Twilio's meta, behind TLS on https urls") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    std::vector<std::string> sids;
    for (int i = 0; i < 5; ++i)
        sids.push_back(created_service(client, "FriendlyName=App" + std::to_string(i))["sid"]);

    const std::string origin = "https://127.0.0.1:" + std::to_string(v.port());
    const HttpResponse first =
        client.request("GET", "/v2/Services?PageSize=2", {}, {{"X-Forwarded-Proto", "https"}});
    REQUIRE(first.status == 200);
    const json page = first.json();
    REQUIRE(page["services"].size() == 2);
    CHECK(page["services"][0]["sid"] == sids[0]);
    CHECK(page["services"][1]["sid"] == sids[1]);
    CHECK(page["services"][0]["url"] == origin + "/v2/Services/" + sids[0]);
    const json meta = page["meta"];
    CHECK(meta["key"] == "services");
    CHECK(meta["page"] == 0);
    CHECK(meta["page_size"] == 2);
    CHECK(meta["previous_page_url"].is_null());
    CHECK(meta["first_page_url"] == origin + "/v2/Services?PageSize=2&Page=0");
    CHECK(meta["next_page_url"] == origin + "/v2/Services?PageSize=2&Page=1&PageToken=PT2");

    const HttpResponse last = client.request("GET", "/v2/Services?PageSize=2&Page=2&PageToken=PT4");
    REQUIRE(last.status == 200);
    CHECK(last.json()["services"].size() == 1);
    CHECK(last.json()["services"][0]["sid"] == sids[4]);
    CHECK(last.json()["meta"]["next_page_url"].is_null());
    CHECK(last.json()["meta"]["previous_page_url"].is_string());

    require_twilio_error(client.request("GET", "/v2/Services?PageSize=0"), 400, 60200);
    require_twilio_error(client.request("GET", "/v2/Services?PageSize=1001"), 400, 60200);
    require_twilio_error(client.request("GET", "/v2/Services?Page=1&PageToken=PT9"), 400, 60200);
    require_twilio_error(client.request("GET", "/v2/Services?Page=99999999999999"), 400, 60200);
    require_twilio_error(client.request("GET", "/v2/Services?Page=-1"), 400, 60200);
}

TEST_CASE(
    "services belong to the account: its test and live keys share them, no other account sees "
    "them") {
    VerifydInstance v;
    TwilioClient test_a = as_account(v, kAccountA, kTestA);
    TwilioClient live_a = as_account(v, kAccountA, kLiveA);
    TwilioClient test_b = as_account(v, kAccountB, kTestB);
    const std::string sid = created_service(test_a, "FriendlyName=Acme")["sid"];

    CHECK(live_a.request("GET", "/v2/Services/" + sid).status == 200);
    require_twilio_error(test_b.request("GET", "/v2/Services/" + sid), 404, 20404);
    require_twilio_error(test_b.request("DELETE", "/v2/Services/" + sid), 404, 20404);
    const HttpResponse listed = test_b.request("GET", "/v2/Services");
    REQUIRE(listed.status == 200);
    CHECK(listed.json()["services"].empty());
    CHECK(test_a.request("GET", "/v2/Services/" + sid).status == 200);
}

TEST_CASE("any credential problem under /v2 is 401 with 20003 and says nothing more") {
    VerifydInstance v;
    const std::string sid_a = twilio_account_sid_of(kAccountA);
    const std::vector<Headers> refused = {
        {},
        basic_auth(sid_a, "sk_test_unknown"),
        basic_auth(twilio_account_sid_of(kAccountB), v.key(kTestA)),
        basic_auth(sid_a, v.key(kRevoked)),
        basic_auth(sid_a, v.key(kExpired)),
        {{"Authorization", "Basic not-base64!"}},
        {{"Authorization", "Bearer " + v.key(kTestA)}},
        {{"x-api-key", v.key(kTestA)}},
    };
    for (const Headers& headers : refused) {
        const HttpResponse response = v.client().request("GET", "/v2/Services", headers);
        require_twilio_error(response, 401, 20003);
        CHECK(response.json()["message"] == "Authenticate");
        CHECK(response.header("WWW-Authenticate") ==
              std::optional<std::string>("Basic realm=\"verifyd\""));
    }
    // A key without the route's scope is 403, still 20003.
    TwilioClient read_only = as_account(v, kAccountA, kReadOnly);
    require_twilio_error(read_only.request("POST", "/v2/Services", "FriendlyName=x"), 403, 20003);
    CHECK(read_only.request("GET", "/v2/Services").status == 200);
}

TEST_CASE(
    "a bad form, a JSON body or one over 16 KiB is 60200 or 413 naming the problem, and creates "
    "nothing") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::vector<std::pair<std::string, std::string>> forms = {
        {"CodeLength=6", "FriendlyName"},
        {"FriendlyName=", "FriendlyName"},
        {"FriendlyName=" + std::string(33, 'x'), "FriendlyName"},
        {"FriendlyName=a&FriendlyName=b", "FriendlyName"},
        {"FriendlyName=a&CodeLength=3", "CodeLength"},
        {"FriendlyName=a&CodeLength=six", "CodeLength"},
        {"FriendlyName=a&LookupEnabled=yes", "LookupEnabled"},
        {"FriendlyName=a&Totp.Skew=3", "Totp.Skew"},
        {"FriendlyName=a&Push.ApnCredentialSid=CR12", "Push.ApnCredentialSid"},
        {"FriendlyName=%zz", "FriendlyName"},
        {"FriendlyName=%FF", "FriendlyName"},
        {"FriendlyName=a%C3", "FriendlyName"},
        {"FriendlyName=a&TtsName=%ED%A0%80", "TtsName"},
        {"FriendlyName=" + repeat_text("%C3%A9", 33), "FriendlyName"},
        {"FriendlyName", "FriendlyName"},
    };
    for (const auto& [form, parameter] : forms) {
        INFO(form);
        const HttpResponse response = client.request("POST", "/v2/Services", form);
        require_twilio_error(response, 400, 60200);
        CHECK(response.json()["message"].get<std::string>().find("`" + parameter + "`") !=
              std::string::npos);
    }
    require_twilio_error(client.request("POST", "/v2/Services", R"({"FriendlyName":"a"})",
                                        {{"Content-Type", "application/json"}}),
                         400, 60200);
    require_twilio_error(
        client.request("POST", "/v2/Services", "FriendlyName=a&TtsName=" + std::string(17000, 'x')),
        413, 60200);
    const HttpResponse listed = client.request("GET", "/v2/Services");
    REQUIRE(listed.status == 200);
    CHECK(listed.json()["services"].empty());
}

TEST_CASE("a FriendlyName's 32 characters are counted as characters, not bytes") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const HttpResponse created =
        client.request("POST", "/v2/Services", "FriendlyName=" + repeat_text("%C3%A9", 32));
    REQUIRE(created.status == 201);
    std::string name;
    for (int i = 0; i < 32; ++i) name += "\xc3\xa9";
    CHECK(created.json()["friendly_name"] == name);
}

TEST_CASE("an unknown /v2 route or method answers Twilio's body, not the native envelope") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    require_twilio_error(client.request("GET", "/v2/Nothing"), 404, 20404);
    const HttpResponse wrong_method = client.request("PUT", "/v2/Services", "FriendlyName=a");
    require_twilio_error(wrong_method, 405, 20004);
    CHECK(wrong_method.header("Allow").value_or("").find("POST") != std::string::npos);
    // The native API keeps its own envelope.
    const HttpResponse native = v.get("/verify/nothing/at/all", v.key(kTestA));
    CHECK(native.json().contains("success"));
}
