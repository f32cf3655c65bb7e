// The Twilio face's verifications apart from any request (twilio_verifications.hpp): a
// Verifications form read into the native send, a VerificationCheck form, and the two
// resources.
#include "verifyd/twilio_verifications.hpp"

#include <sodium.h>

#include <catch2/catch.hpp>

using namespace verifyd;
using nlohmann::json;

namespace {

ApiSettings settings() {
    ApiSettings s;
    s.code_length = 6;
    s.code_ttl = 600;
    s.max_attempts = 5;
    return s;
}

TwilioService service(const TwilioForm& parameters) {
    return {"VAABCDEF0123456789abcdef0123456789", parameters, 0, 0};
}

std::string message_of(const ApiError& error) {
    return twilio_error_response(error).body;
}

}  // namespace

TEST_CASE("a Verifications form is the native send with the service's code length and name") {
    REQUIRE(sodium_init() >= 0);
    auto send =
        verification_send({{"To", "+14155552671"},
                           {"Channel", "whatsapp"},
                           {"Locale", "pt-BR"},
                           {"DeviceIp", "203.0.113.9"},
                           {"TemplateCustomSubstitutions", R"({"plan":"gold"})"},
                           {"Amount", "ignored"}},
                          service({{"FriendlyName", "Acme"}, {"CodeLength", "8"}}), settings());
    REQUIRE(send.ok());
    CHECK(send.value.to == "+14155552671");
    CHECK(send.value.channel == "whatsapp");
    CHECK(send.value.locale == "pt-BR");
    CHECK(send.value.code_length == 8);
    CHECK(send.value.ttl_seconds == 600);
    CHECK_FALSE(send.value.client_network.empty());
    CHECK(send.value.template_variables == json{{"plan", "gold"}, {"app_name", "Acme"}});
    CHECK(send.value.service_sid == "abcdef0123456789abcdef0123456789");
    CHECK(send.value.twilio_sid.size() == 32);
    CHECK(send.value.twilio_sid != verification_send({{"To", "+14155552671"}, {"Channel", "sms"}},
                                                     service({{"FriendlyName", "Acme"}}),
                                                     settings())
                                       .value.twilio_sid);
}

TEST_CASE("CustomFriendlyName names the message instead of the service's FriendlyName") {
    auto send = verification_send(
        {{"To", "+14155552671"}, {"Channel", "sms"}, {"CustomFriendlyName", "Acme Pay"}},
        service({{"FriendlyName", "Acme"}}), settings());
    REQUIRE(send.ok());
    CHECK(send.value.template_variables["app_name"] == "Acme Pay");
    CHECK(send.value.code_length == 6);
}

TEST_CASE("a bad Verifications form is 60200 with Twilio's parameter name, another channel 60223") {
    const TwilioService acme = service({{"FriendlyName", "Acme"}});
    const std::vector<std::pair<TwilioForm, std::string>> bad = {
        {{{"Channel", "sms"}}, "To"},
        {{{"To", "+14155552671"}}, "Channel"},
        {{{"To", "+14155552671"}, {"Channel", "fax"}}, "Channel"},
        {{{"To", "+14155552671"}, {"Channel", "sms"}, {"Locale", "x_y"}}, "Locale"},
        {{{"To", "+14155552671"}, {"Channel", "sms"}, {"DeviceIp", "300.1.1.1"}}, "DeviceIp"},
        {{{"To", "+14155552671"}, {"Channel", "sms"}, {"TemplateCustomSubstitutions", "[1]"}},
         "TemplateCustomSubstitutions"},
        {{{"To", "+14155552671"},
          {"Channel", "sms"},
          {"TemplateCustomSubstitutions", R"({"ttl_minutes":"1"})"}},
         "TemplateCustomSubstitutions"},
        {{{"To", "+14155552671"}, {"Channel", "sms"}, {"CustomFriendlyName", ""}},
         "CustomFriendlyName"},
        {{{"To", "+14155552671"}, {"Channel", "sms"}, {"CustomCode", "1234"}}, "CustomCode"},
    };
    for (const auto& [form, parameter] : bad) {
        INFO(parameter);
        auto send = verification_send(form, acme, settings());
        REQUIRE(send.error);
        CHECK(twilio_error_code(*send.error).code == 60200);
        CHECK(message_of(*send.error).find(parameter) != std::string::npos);
    }
    for (const char* channel : {"call", "email", "sna", "auto"}) {
        auto send =
            verification_send({{"To", "+14155552671"}, {"Channel", channel}}, acme, settings());
        REQUIRE(send.error);
        CHECK(twilio_error_code(*send.error).code == 60223);
        CHECK(twilio_error_code(*send.error).http_status == 400);
    }
}

TEST_CASE("a VerificationCheck form takes Code and exactly one of To and VerificationSid") {
    auto by_number = verification_check({{"To", "+14155552671"}, {"Code", "123456"}});
    REQUIRE(by_number.ok());
    CHECK(by_number.value.to == "+14155552671");
    CHECK(by_number.value.twilio_sid.empty());
    auto by_sid = verification_check(
        {{"VerificationSid", "VE0123456789ABCDEF0123456789abcdef"}, {"Code", "1234"}});
    REQUIRE(by_sid.ok());
    CHECK(by_sid.value.twilio_sid == "0123456789abcdef0123456789abcdef");

    for (const TwilioForm& form : std::vector<TwilioForm>{
             {{"To", "+14155552671"}},
             {{"To", "+14155552671"}, {"Code", "123"}},
             {{"To", "+14155552671"}, {"Code", "12345678901"}},
             {{"To", "+14155552671"}, {"Code", "12a456"}},
             {{"Code", "123456"}},
             {{"Code", "123456"}, {"To", "+1"}, {"VerificationSid", "VE0123"}},
         }) {
        auto check = verification_check(form);
        REQUIRE(check.error);
        CHECK(twilio_error_code(*check.error).code == 60200);
    }
    auto not_a_sid = verification_check({{"VerificationSid", "VA0123"}, {"Code", "123456"}});
    REQUIRE(not_a_sid.error);
    CHECK(twilio_error_code(*not_a_sid.error).code == 20404);
}

TEST_CASE("the Verification resource lists each send with a derived attempt sid") {
    Verification v;
    v.to = "+14155552671";
    v.channel = "sms";
    v.status = "pending";
    v.service_sid = "abcdef0123456789abcdef0123456789";
    v.twilio_sid = "0123456789abcdef0123456789abcdef";
    v.send_attempts = "1796205600000 s0 w75";
    v.created_ms = 1796205675000;
    const json resource = verification_resource(v, "AC00", "http://h:1", v.created_ms);
    CHECK(resource["sid"] == "VE0123456789abcdef0123456789abcdef");
    CHECK(resource["service_sid"] == "VAabcdef0123456789abcdef0123456789");
    CHECK(resource["date_created"] == "2026-12-02T10:00:00Z");
    CHECK(resource["date_updated"] == "2026-12-02T10:01:15Z");
    REQUIRE(resource["send_code_attempts"].size() == 2);
    CHECK(resource["send_code_attempts"][1] ==
          json{{"attempt_sid", resource["send_code_attempts"][1]["attempt_sid"]},
               {"channel", "whatsapp"},
               {"time", "2026-12-02T10:01:15Z"}});
    CHECK(resource["send_code_attempts"][0]["attempt_sid"] !=
          resource["send_code_attempts"][1]["attempt_sid"]);
    // Derived: the same sends read again have the same attempt sids.
    CHECK(verification_resource(v, "AC00", "http://h:1", 0)["send_code_attempts"] ==
          resource["send_code_attempts"]);
    CHECK(resource["url"] ==
          "http://h:1/v2/Services/VAabcdef0123456789abcdef0123456789/Verifications/"
          "VE0123456789abcdef0123456789abcdef");
    for (const char* field : {"lookup", "amount", "payee", "sna"}) CHECK(resource[field].is_null());
    CHECK(resource.size() == 15);
}

TEST_CASE("statuses are Twilio's: a locked verification has reached its max attempts") {
    CHECK(twilio_status("locked") == "max_attempts_reached");
    for (const char* same : {"pending", "approved", "canceled", "expired"})
        CHECK(twilio_status(same) == same);
    CheckOutcome outcome;
    outcome.status = "locked";
    outcome.to = "+14155552671";
    outcome.channel = "sms";
    outcome.twilio_sid = "0123456789abcdef0123456789abcdef";
    outcome.send_attempts = "1796205600000 s0";
    const json resource = json::parse(
        check_resource(outcome, "abcdef0123456789abcdef0123456789", "AC00", 1796205660000));
    CHECK(resource["status"] == "max_attempts_reached");
    CHECK(resource["valid"] == false);
    CHECK(resource["date_created"] == "2026-12-02T10:00:00Z");
    CHECK(resource["date_updated"] == "2026-12-02T10:01:00Z");
    CHECK(resource["sna_attempts_error_codes"] == json::array());
    CHECK(resource.size() == 12);
}
