// The Twilio face's verifications (§11) as any HTTP client sees them: a send in a
// service, fetched by VE sid or number, checked by To or VerificationSid, canceled or
// approved; resends that keep the sid; Twilio's limits and error codes; the service's
// own verifications only. The official SDK's view of the same: twilio_sdk_test.cpp.
#include <catch2/catch.hpp>

#include "support/api_checks.hpp"
#include "support/twilio_client.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

constexpr const char* kNumber = "+14155552671";
constexpr const char* kFormNumber = "%2B14155552671";

// The sid of a service created with `form`.
std::string new_service(TwilioClient& client, const std::string& form) {
    return created_service(client, form)["sid"];
}

std::string verifications(const std::string& service) {
    return "/v2/Services/" + service + "/Verifications";
}

std::string checks(const std::string& service) {
    return "/v2/Services/" + service + "/VerificationCheck";
}

json sent(TwilioClient& client, const std::string& service,
          const std::string& form = std::string("To=") + kFormNumber + "&Channel=sms") {
    HttpResponse response = client.request("POST", verifications(service), form);
    INFO(response.body);
    REQUIRE(response.status == 201);
    return response.json();
}

json checked(TwilioClient& client, const std::string& service, const std::string& form) {
    HttpResponse response = client.request("POST", checks(service), form);
    INFO(response.body);
    REQUIRE(response.status == 200);
    return response.json();
}

// The sandbox messages to kNumber, newest first, read through the native API with `key`.
json messages_to_number(VerifydInstance& v, const std::string& key) {
    HttpResponse listed = v.get(std::string("/messages?to=") + kFormNumber, key);
    INFO(listed.body);
    REQUIRE(listed.status == 200);
    return listed.json()["data"]["messages"];
}

json newest_message(VerifydInstance& v, const std::string& key) {
    const json messages = messages_to_number(v, key);
    REQUIRE_FALSE(messages.empty());
    return messages[0];
}

std::string newest_code(VerifydInstance& v, const std::string& key) {
    return newest_message(v, key)["template"]["variables"]["code"];
}
}  // namespace

TEST_CASE(
    "a verification sent in a service answers every documented field, checks wrong then right, "
    "and is gone once approved") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme%20Login&CodeLength=8");

    const json verification = sent(client, service);
    const std::string sid = verification["sid"];
    CHECK(sid.size() == 34);
    CHECK(sid.rfind("VE", 0) == 0);
    CHECK(verification["service_sid"] == service);
    CHECK(verification["account_sid"] == twilio_account_sid_of(kAccountA));
    CHECK(verification["to"] == kNumber);
    CHECK(verification["channel"] == "sms");
    CHECK(verification["status"] == "pending");
    CHECK(verification["valid"] == false);
    for (const char* field : {"lookup", "amount", "payee", "sna"})
        CHECK(verification[field].is_null());
    REQUIRE(verification["send_code_attempts"].size() == 1);
    const json attempt = verification["send_code_attempts"][0];
    CHECK(attempt["attempt_sid"].get<std::string>().rfind("VL", 0) == 0);
    CHECK(attempt["attempt_sid"].get<std::string>().size() == 34);
    CHECK(attempt["channel"] == "sms");
    CHECK(attempt["time"] == verification["date_created"]);
    CHECK(verification["date_created"].get<std::string>().size() == 20);
    CHECK(verification["url"] ==
          "http://127.0.0.1:" + std::to_string(v.port()) + verifications(service) + "/" + sid);

    // The service's CodeLength and FriendlyName make the sandbox message.
    const json message = newest_message(v, v.key(kTestA));
    const std::string code = message["template"]["variables"]["code"];
    CHECK(code.size() == 8);
    CHECK(message["body"].get<std::string>().find("Acme Login") != std::string::npos);

    for (const std::string& name : {sid, std::string(kNumber), std::string(kFormNumber)}) {
        INFO(name);
        const HttpResponse fetched = client.request("GET", verifications(service) + "/" + name);
        REQUIRE(fetched.status == 200);
        CHECK(fetched.json()["sid"] == sid);
        CHECK(fetched.json()["status"] == "pending");
    }

    const json wrong =
        checked(client, service, std::string("To=") + kFormNumber + "&Code=" + wrong_code(code));
    CHECK(wrong["sid"] == sid);
    CHECK(wrong["status"] == "pending");
    CHECK(wrong["valid"] == false);
    for (const char* field : {"service_sid", "account_sid", "to", "channel", "amount", "payee",
                              "sna_attempts_error_codes", "date_created", "date_updated"})
        CHECK(wrong.contains(field));
    CHECK_FALSE(wrong.contains("url"));

    const json right = checked(client, service, "VerificationSid=" + sid + "&Code=" + code);
    CHECK(right["sid"] == sid);
    CHECK(right["status"] == "approved");
    CHECK(right["valid"] == true);
    CHECK(right["date_created"] == verification["date_created"]);

    require_twilio_error(client.request("GET", verifications(service) + "/" + sid), 404, 20404);
    require_twilio_error(
        client.request("POST", checks(service), "VerificationSid=" + sid + "&Code=" + code), 404,
        20404);
}

TEST_CASE(
    "a resend in the same service keeps the sid and adds an attempt with a new code, and a "
    "send in another service starts another") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme");
    const std::string other = new_service(client, "FriendlyName=Other");

    const json first = sent(client, service);
    const std::string first_code = newest_code(v, v.key(kTestA));
    const json again =
        sent(client, service, std::string("To=") + kFormNumber + "&Channel=whatsapp");
    CHECK(again["sid"] == first["sid"]);
    CHECK(again["date_created"] == first["date_created"]);
    REQUIRE(again["send_code_attempts"].size() == 2);
    CHECK(again["send_code_attempts"][0] == first["send_code_attempts"][0]);
    CHECK(again["send_code_attempts"][1]["channel"] == "whatsapp");
    CHECK(again["send_code_attempts"][1]["attempt_sid"] !=
          again["send_code_attempts"][0]["attempt_sid"]);
    // The resend is a message of its own with a code of its own (two codes may be equal by
    // chance, one time in a million, so the messages are compared, not the codes).
    const json both = messages_to_number(v, v.key(kTestA));
    REQUIRE(both.size() == 2);
    CHECK(both[0]["id"] != both[1]["id"]);
    CHECK(both[0]["channel"] == "whatsapp");
    CHECK(both[1]["template"]["variables"]["code"] == first_code);
    const std::string second_code = both[0]["template"]["variables"]["code"];

    // The other service's send supersedes it: the number has one current verification.
    const json elsewhere = sent(client, other);
    CHECK(elsewhere["sid"] != first["sid"]);
    CHECK(elsewhere["send_code_attempts"].size() == 1);
    require_twilio_error(
        client.request("GET", verifications(service) + "/" + first["sid"].get<std::string>()), 404,
        20404);
    require_twilio_error(client.request("POST", checks(service),
                                        std::string("To=") + kFormNumber + "&Code=" + second_code),
                         404, 20404);

    const std::string third_code = newest_code(v, v.key(kTestA));
    const json approved =
        checked(client, other,
                "VerificationSid=" + elsewhere["sid"].get<std::string>() + "&Code=" + third_code);
    CHECK(approved["status"] == "approved");
    CHECK(first_code.size() == 6);
}

TEST_CASE("five wrong codes answer 200 with valid false, and the check after them is 60202") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme");
    sent(client, service);
    const std::string wrong = wrong_code(newest_code(v, v.key(kTestA)));
    const std::string form = std::string("To=") + kFormNumber + "&Code=" + wrong;
    for (int i = 1; i <= 5; ++i) {
        const json answer = checked(client, service, form);
        CHECK(answer["valid"] == false);
        CHECK(answer["status"] == (i < 5 ? "pending" : "max_attempts_reached"));
    }
    const HttpResponse exhausted = client.request("POST", checks(service), form);
    require_twilio_error(exhausted, 429, 60202);
    CHECK(exhausted.header("Retry-After"));
    require_twilio_error(client.request("GET", verifications(service) + "/" + kNumber), 404, 20404);
}

TEST_CASE("Status=canceled ends a verification, Status=approved approves it without a code") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme");

    const std::string canceled_sid = sent(client, service)["sid"];
    const HttpResponse canceled =
        client.request("POST", verifications(service) + "/" + canceled_sid, "Status=canceled");
    REQUIRE(canceled.status == 200);
    CHECK(canceled.json()["sid"] == canceled_sid);
    CHECK(canceled.json()["status"] == "canceled");
    CHECK(canceled.json()["valid"] == false);
    require_twilio_error(
        client.request("POST", verifications(service) + "/" + canceled_sid, "Status=canceled"), 404,
        20404);

    const std::string approved_sid = sent(client, service)["sid"];
    CHECK(approved_sid != canceled_sid);
    const HttpResponse approved =
        client.request("POST", verifications(service) + "/" + kNumber, "Status=approved");
    REQUIRE(approved.status == 200);
    CHECK(approved.json()["sid"] == approved_sid);
    CHECK(approved.json()["status"] == "approved");
    CHECK(approved.json()["valid"] == true);
    require_twilio_error(client.request("GET", verifications(service) + "/" + approved_sid), 404,
                         20404);

    sent(client, service);
    for (const char* form : {"Status=pending", "Status=", "", "Status=canceled&Status=approved"})
        require_twilio_error(client.request("POST", verifications(service) + "/" + kNumber, form),
                             400, 60200);
}

TEST_CASE("the number's send windows answer 60203 with Retry-After") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}, {"VERIFYD_SEND_LIMITS", "2/600"}});
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme");
    sent(client, service);
    sent(client, service);
    const HttpResponse refused = client.request("POST", verifications(service),
                                                std::string("To=") + kFormNumber + "&Channel=sms");
    require_twilio_error(refused, 429, 60203);
    CHECK(std::stoi(refused.header("Retry-After").value_or("0")) > 0);
}

TEST_CASE(
    "a bad verification or check form is 60200 naming the parameter, another Twilio channel is "
    "60223, and nothing is sent") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme");
    const std::string to = std::string("To=") + kFormNumber;
    const std::vector<std::pair<std::string, std::string>> sends = {
        {"Channel=sms", "To"},
        {"To=4155552671&Channel=sms", "To"},
        {to, "Channel"},
        {to + "&Channel=pigeon", "Channel"},
        {to + "&Channel=sms&Locale=!!", "Locale"},
        {to + "&Channel=sms&DeviceIp=not-an-address", "DeviceIp"},
        {to + "&Channel=sms&TemplateCustomSubstitutions=%7Bnot-json",
         "TemplateCustomSubstitutions"},
        {to + "&Channel=sms&TemplateCustomSubstitutions=%7B%22code%22%3A%221%22%7D",
         "TemplateCustomSubstitutions"},
        {to + "&Channel=sms&CustomFriendlyName=" + std::string(33, 'x'), "CustomFriendlyName"},
        {to + "&Channel=sms&CustomCode=123456", "CustomCode"},
        {to + "&Channel=sms&Channel=sms", "Channel"},
    };
    for (const auto& [form, parameter] : sends) {
        INFO(form);
        const HttpResponse response = client.request("POST", verifications(service), form);
        require_twilio_error(response, 400, 60200);
        CHECK(response.json()["message"].get<std::string>().rfind(
                  "Invalid parameter `" + parameter + "`: ", 0) == 0);
    }
    for (const char* channel : {"call", "email", "sna", "auto"})
        require_twilio_error(
            client.request("POST", verifications(service), to + "&Channel=" + channel), 400, 60223);
    require_twilio_error(client.request("POST", verifications(service), R"({"To":"+14155552671"})",
                                        {{"Content-Type", "application/json"}}),
                         400, 60200);
    const HttpResponse listed = v.get(std::string("/messages?to=") + kFormNumber, v.key(kTestA));
    REQUIRE(listed.status == 200);
    CHECK(listed.json()["data"]["messages"].empty());

    sent(client, service);
    for (const std::string& form :
         {to, to + "&Code=12", to + "&Code=12345a", std::string("Code=123456"),
          to + "&VerificationSid=VE00000000000000000000000000000000&Code=123456"}) {
        INFO(form);
        require_twilio_error(client.request("POST", checks(service), form), 400, 60200);
    }
}

TEST_CASE(
    "a verification is seen only through its own service and account: other services, accounts "
    "and unknown sids answer 20404") {
    VerifydInstance v;
    TwilioClient client = as_account(v, kAccountA, kTestA);
    TwilioClient other_account = as_account(v, kAccountB, kTestB);
    const std::string service = new_service(client, "FriendlyName=Acme");
    const std::string other = new_service(client, "FriendlyName=Other");
    const std::string sid = sent(client, service)["sid"];
    const std::string code = newest_code(v, v.key(kTestA));

    require_twilio_error(client.request("GET", verifications(other) + "/" + sid), 404, 20404);
    require_twilio_error(client.request("GET", verifications(other) + "/" + kNumber), 404, 20404);
    require_twilio_error(
        client.request("POST", checks(other), "VerificationSid=" + sid + "&Code=" + code), 404,
        20404);
    require_twilio_error(
        client.request("POST", verifications(other) + "/" + sid, "Status=canceled"), 404, 20404);
    require_twilio_error(other_account.request("GET", verifications(service) + "/" + sid), 404,
                         20404);
    require_twilio_error(other_account.request("POST", checks(service),
                                               std::string("To=") + kFormNumber + "&Code=" + code),
                         404, 20404);
    const std::string unknown_service = "VA0123456789abcdef0123456789abcdef";
    require_twilio_error(client.request("POST", verifications(unknown_service),
                                        std::string("To=") + kFormNumber + "&Channel=sms"),
                         404, 20404);
    require_twilio_error(
        client.request("GET", verifications(service) + "/VE0123456789abcdef0123456789abcdef"), 404,
        20404);
    require_twilio_error(client.request("GET", verifications("not-a-sid") + "/" + sid), 404, 20404);

    // Untouched by all of that: the right code in the right service approves it.
    CHECK(checked(client, service, "VerificationSid=" + sid + "&Code=" + code)["status"] ==
          "approved");
}

TEST_CASE("a send retried with one Idempotency-Key answers the first send again and sends once") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    TwilioClient client = as_account(v, kAccountA, kTestA);
    const std::string service = new_service(client, "FriendlyName=Acme");
    const std::string form = std::string("To=") + kFormNumber + "&Channel=sms";
    const Headers key = {{"Idempotency-Key", "login-attempt-1"}};
    const HttpResponse first = client.request("POST", verifications(service), form, key);
    const HttpResponse retried = client.request("POST", verifications(service), form, key);
    REQUIRE(first.status == 201);
    REQUIRE(retried.status == 201);
    CHECK(retried.json()["sid"] == first.json()["sid"]);
    CHECK(retried.json()["send_code_attempts"].size() == 1);
    const HttpResponse listed = v.get(std::string("/messages?to=") + kFormNumber, v.key(kTestA));
    CHECK(listed.json()["data"]["messages"].size() == 1);
    // The same key with another form is a conflict, as natively.
    require_twilio_error(
        client.request("POST", verifications(service),
                       std::string("To=") + kFormNumber + "&Channel=whatsapp", key),
        409, 20409);
}
