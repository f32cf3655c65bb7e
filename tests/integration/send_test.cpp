// POST /verify/send (§4, §5.1, §3 modes): the 201 answer, defaults, every field rule,
// phone number rules, and which sends are sandboxed or delivered live.
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <regex>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

const std::regex kVerificationId("vrf_[A-Za-z0-9_-]{22,}");
const std::regex kMessageId("msg_[A-Za-z0-9_-]{22,}");

// Lowercase with '_' and '-' read as spaces, so "FIXED_LINE" and "fixed-line" compare alike.
std::string normalised(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
        return c == '_' || c == '-' ? ' ' : static_cast<char>(std::tolower(c));
    });
    return text;
}

// The 4000 answer to a send with this body, naming `field` in its details.
void require_field_refused(VerifydInstance& v, const json& body, const std::string& field) {
    INFO("body: " << body.dump());
    json error = require_error(v.send(v.key(kTestA), body), 400, 4000);
    require_detail(error, field);
}

int64_t seconds_between(const json& data, const char* from, const char* to) {
    auto start = parse_rfc3339_utc(data.at(from).get<std::string>());
    auto end = parse_rfc3339_utc(data.at(to).get<std::string>());
    REQUIRE(start);
    REQUIRE(end);
    return *end - *start;
}

}  // namespace

TEST_CASE("a send answers 201 with the verification and never the code") {
    VerifydInstance v;
    const std::string to = us_number(2671);
    HttpResponse response = v.send(v.key(kTestA), {{"to", to}});
    json data = require_success(response, 201);

    CHECK(std::regex_match(data.value("id", ""), kVerificationId));
    CHECK(std::regex_match(data.value("message_id", ""), kMessageId));
    CHECK(data.value("to", "") == to);
    CHECK(data.value("channel", "") == "sms");
    CHECK(data.value("status", "") == "pending");
    REQUIRE(data["code_length"].is_number_integer());
    CHECK(data["code_length"] == 6);
    REQUIRE(data["max_attempts"].is_number_integer());
    CHECK(data["max_attempts"] == 5);
    REQUIRE(data["attempts_remaining"].is_number_integer());
    CHECK(data["attempts_remaining"] == 5);
    REQUIRE(data["sandbox"].is_boolean());
    CHECK(data["sandbox"] == true);
    REQUIRE(data["created_at"].is_string());
    REQUIRE(data["expires_at"].is_string());
    CHECK(is_rfc3339_utc(data["created_at"]));
    CHECK(is_rfc3339_utc(data["expires_at"]));
    CHECK(seconds_between(data, "created_at", "expires_at") == 600);
    CHECK_FALSE(contains_key(data, "code"));

    const std::string code = v.sandbox_code(v.key(kTestA), data["id"]);
    CHECK(std::regex_match(code, std::regex("[0-9]{6}")));
    CHECK(response.body.find(code) == std::string::npos);
}

TEST_CASE("a send honours channel, fallback, code_length and ttl_seconds") {
    VerifydInstance v;
    json data = v.send_ok(
        v.key(kTestA), us_number(1001),
        {{"channel", "whatsapp"}, {"fallback", "sms"}, {"code_length", 10}, {"ttl_seconds", 120}});
    CHECK(data.value("channel", "") == "whatsapp");
    CHECK(data.value("code_length", 0) == 10);
    CHECK(seconds_between(data, "created_at", "expires_at") == 120);
    CHECK(std::regex_match(v.sandbox_code(v.key(kTestA), data["id"]), std::regex("[0-9]{10}")));

    json shortest = v.send_ok(v.key(kTestA), us_number(1002), {{"code_length", 4}});
    CHECK(std::regex_match(v.sandbox_code(v.key(kTestA), shortest["id"]), std::regex("[0-9]{4}")));
}

TEST_CASE("every send gets fresh ids and a fresh code") {
    VerifydInstance v;
    json first = v.send_ok(v.key(kTestA), us_number(1101), {{"code_length", 10}});
    json second = v.send_ok(v.key(kTestA), us_number(1102), {{"code_length", 10}});
    CHECK(first["id"] != second["id"]);
    CHECK(first["message_id"] != second["message_id"]);
    // Two 10-digit codes from a CSPRNG are equal with probability 1e-10.
    CHECK(v.sandbox_code(v.key(kTestA), first["id"]) !=
          v.sandbox_code(v.key(kTestA), second["id"]));
}

TEST_CASE("codes are uniformly random digits and may start with zero") {
    VerifydInstance v;
    constexpr int kCodes = 200;
    std::array<int, 10> counts{};
    int leading_zeros = 0;
    for (int i = 0; i < kCodes; ++i) {
        json sent = v.send_ok(v.key(kTestA), us_number(1500 + i), {{"code_length", 10}});
        const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
        REQUIRE(std::regex_match(code, std::regex("[0-9]{10}")));
        leading_zeros += code[0] == '0' ? 1 : 0;
        for (char digit : code) {
            ++counts[digit - '0'];
        }
    }
    // No leading zero in 200 codes has probability 0.9^200, about 7e-10.
    CHECK(leading_zeros > 0);
    // Chi-square over 2000 digits with 9 degrees of freedom: above 45 has probability
    // about 1e-6 for uniform digits.
    const double expected = kCodes * 10 / 10.0;
    double chi_square = 0;
    for (int count : counts) {
        chi_square += (count - expected) * (count - expected) / expected;
    }
    INFO("digit counts chi-square " << chi_square);
    CHECK(chi_square < 45);
}

TEST_CASE("a send without to is refused with 4000 naming to") {
    VerifydInstance v;
    require_field_refused(v, json::object(), "to");
    require_field_refused(v, {{"channel", "sms"}}, "to");
}

TEST_CASE("channel must be sms or whatsapp in lowercase") {
    VerifydInstance v;
    for (const char* channel : {"SMS", "WhatsApp", "email", ""}) {
        require_field_refused(v, {{"to", us_number(1201)}, {"channel", channel}}, "channel");
    }
    require_field_refused(v, {{"to", us_number(1201)}, {"channel", 1}}, "channel");
    v.send_ok(v.key(kTestA), us_number(1202), {{"channel", "sms"}});
    v.send_ok(v.key(kTestA), us_number(1203), {{"channel", "whatsapp"}});
}

TEST_CASE("fallback is only sms and only with channel whatsapp") {
    VerifydInstance v;
    require_field_refused(v, {{"to", us_number(1301)}, {"fallback", "sms"}}, "fallback");
    require_field_refused(v, {{"to", us_number(1301)}, {"channel", "sms"}, {"fallback", "sms"}},
                          "fallback");
    require_field_refused(
        v, {{"to", us_number(1301)}, {"channel", "whatsapp"}, {"fallback", "whatsapp"}},
        "fallback");
    require_field_refused(
        v, {{"to", us_number(1301)}, {"channel", "whatsapp"}, {"fallback", "voice"}}, "fallback");
    v.send_ok(v.key(kTestA), us_number(1302), {{"channel", "whatsapp"}, {"fallback", "sms"}});
}

TEST_CASE("code_length must be an integer from 4 to 10") {
    VerifydInstance v;
    for (const json& length : {json(3), json(11), json(0), json(-6), json("6"), json(6.5)}) {
        require_field_refused(v, {{"to", us_number(1401)}, {"code_length", length}}, "code_length");
    }
    CHECK(v.send_ok(v.key(kTestA), us_number(1402), {{"code_length", 4}})["code_length"] == 4);
    CHECK(v.send_ok(v.key(kTestA), us_number(1403), {{"code_length", 10}})["code_length"] == 10);
}

TEST_CASE("ttl_seconds must be an integer from 30 to 3600") {
    VerifydInstance v;
    for (const json& ttl : {json(29), json(3601), json(0), json("60"), json(60.5)}) {
        require_field_refused(v, {{"to", us_number(1501)}, {"ttl_seconds", ttl}}, "ttl_seconds");
    }
    json shortest = v.send_ok(v.key(kTestA), us_number(1502), {{"ttl_seconds", 30}});
    CHECK(seconds_between(shortest, "created_at", "expires_at") == 30);
    json longest = v.send_ok(v.key(kTestA), us_number(1503), {{"ttl_seconds", 3600}});
    CHECK(seconds_between(longest, "created_at", "expires_at") == 3600);
}

TEST_CASE("locale must be a BCP 47 language tag") {
    VerifydInstance v;
    for (const json& locale :
         {json("not a locale"), json("12"), json(""), json("en_US!"), json(5)}) {
        require_field_refused(v, {{"to", us_number(1601)}, {"locale", locale}}, "locale");
    }
    v.send_ok(v.key(kTestA), us_number(1602), {{"locale", "en"}});
    v.send_ok(v.key(kTestA), us_number(1603), {{"locale", "pt-BR"}});
}

TEST_CASE("sandbox must be a boolean") {
    VerifydInstance v;
    for (const json& sandbox : {json("true"), json(1)}) {
        require_field_refused(v, {{"to", us_number(1651)}, {"sandbox", sandbox}}, "sandbox");
    }
}

TEST_CASE("template variables may not set the reserved code, app_name or ttl_minutes") {
    VerifydInstance v;
    const std::vector<std::pair<std::string, json>> reserved = {
        {"code", "123456"}, {"app_name", "Other"}, {"ttl_minutes", 1440}};
    for (const auto& [name, value] : reserved) {
        json body = {{"to", us_number(1701)},
                     {"template", {{"name", "login"}, {"variables", {{name, value}}}}}};
        INFO("body: " << body.dump());
        json error = require_error(v.send(v.key(kTestA), body), 400, 4000);
        CHECK(require_detail(error, "template.variables." + name).find("reserved") !=
              std::string::npos);
    }
    // Refused sends consume nothing: the number can still be sent to at once.
    v.send_ok(v.key(kTestA), us_number(1701));
}

TEST_CASE("template must be a name and variables of strings or numbers") {
    VerifydInstance v;
    const std::vector<json> bad_templates = {
        "login",
        json::array(),
        {{"name", 5}},
        {{"name", "login"}, {"variables", json::array()}},
        {{"name", "login"}, {"variables", {{"nested", {{"a", 1}}}}}},
        {{"name", "login"}, {"variables", {{"list", {1, 2}}}}},
    };
    for (const json& bad : bad_templates) {
        INFO("template: " << bad.dump());
        json error = require_error(
            v.send(v.key(kTestA), {{"to", us_number(1801)}, {"template", bad}}), 400, 4000);
        REQUIRE(error.contains("details"));
        bool names_template = false;
        for (const auto& [field, problems] : error["details"].items()) {
            names_template = names_template || field.rfind("template", 0) == 0;
        }
        CHECK(names_template);
    }
    json data = v.send_ok(
        v.key(kTestA), us_number(1802),
        {{"template", {{"name", "login"}, {"variables", {{"shop", "Acme"}, {"count", 3}}}}}});
    json read = require_success(v.get_verification(v.key(kTestA), data["id"]));
    REQUIRE(read.contains("template_variables"));
    CHECK(read["template_variables"].value("shop", "") == "Acme");
    CHECK(read["template_variables"].value("count", 0) == 3);
}

TEST_CASE("an unknown field is refused with 4000") {
    VerifydInstance v;
    require_error(v.send(v.key(kTestA), {{"to", us_number(1901)}, {"colour", "blue"}}), 400, 4000);
    require_error(v.send(v.key(kTestA), {{"to", us_number(1901)}, {"code", "123456"}}), 400, 4000);
}

TEST_CASE("a number that is not strict E.164 is refused with 4001") {
    VerifydInstance v;
    for (const char* to :
         {"14155552671", "+1 415 555 2671", "(415) 555-2671", "+1-415-555-2671", "+1415",
          "+141555526711234567", "+1415555ABCD", "+014155552671", "+", "", " +14155552671"}) {
        INFO("to: '" << to << "'");
        json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 400, 4001);
        require_detail(error, "to");
    }
}

TEST_CASE("a number spelt with its trunk prefix is refused with 4001 naming the canonical form") {
    VerifydInstance v;
    json error = require_error(v.send(v.key(kTestA), {{"to", "+4407911123456"}}), 400, 4001);
    CHECK(require_detail(error, "to").find("+447911123456") != std::string::npos);
    error = require_error(v.send(v.key(kTestA), {{"to", "+114155552671"}}), 400, 4001);
    CHECK(require_detail(error, "to").find("+14155552671") != std::string::npos);
    json sent = v.send_ok(v.key(kTestA), "+447911123456");
    CHECK(sent["to"] == "+447911123456");
}

TEST_CASE("a strict E.164 string that is no valid number is refused with 4001") {
    VerifydInstance v;
    for (const char* to : {"+19999999999", "+447700900123", "+999123456789"}) {
        INFO("to: " << to);
        json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 400, 4001);
        require_detail(error, "to");
    }
}

TEST_CASE("a number of a type that cannot receive a code is refused with 4001 naming the type") {
    using i18n::phonenumbers::PhoneNumber;
    using i18n::phonenumbers::PhoneNumberUtil;
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    struct Case {
        PhoneNumberUtil::PhoneNumberType type;
        const char* name;  // as a reader would look for it in the problem text
    };
    const std::vector<Case> refused = {{PhoneNumberUtil::FIXED_LINE, "fixed line"},
                                       {PhoneNumberUtil::TOLL_FREE, "toll free"},
                                       {PhoneNumberUtil::PREMIUM_RATE, "premium rate"},
                                       {PhoneNumberUtil::UAN, "uan"},
                                       {PhoneNumberUtil::PAGER, "pager"}};
    VerifydInstance v;
    for (const auto& c : refused) {
        PhoneNumber example;
        REQUIRE(util.GetExampleNumberForType("GB", c.type, &example));
        std::string to;
        util.Format(example, PhoneNumberUtil::E164, &to);
        INFO("to: " << to << " (" << c.name << ")");
        json error = require_error(v.send(v.key(kTestA), {{"to", to}}), 400, 4001);
        CHECK(normalised(require_detail(error, "to")).find(c.name) != std::string::npos);
    }
}

TEST_CASE("mobile, VoIP and personal numbers are accepted") {
    using i18n::phonenumbers::PhoneNumber;
    using i18n::phonenumbers::PhoneNumberUtil;
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    VerifydInstance v;
    for (auto type :
         {PhoneNumberUtil::MOBILE, PhoneNumberUtil::VOIP, PhoneNumberUtil::PERSONAL_NUMBER}) {
        PhoneNumber example;
        REQUIRE(util.GetExampleNumberForType("GB", type, &example));
        std::string to;
        util.Format(example, PhoneNumberUtil::E164, &to);
        INFO("to: " << to);
        v.send_ok(v.key(kTestA), to);
    }
    // US numbers are FIXED_LINE_OR_MOBILE.
    v.send_ok(v.key(kTestA), us_number(2001));
}

TEST_CASE("VERIFYD_ALLOWED_COUNTRIES refuses numbers of other regions with 4001") {
    VerifydInstance v(Settings{{"VERIFYD_ALLOWED_COUNTRIES", "GB"}});
    json error = require_error(v.send(v.key(kTestA), {{"to", us_number(2101)}}), 400, 4001);
    require_detail(error, "to");
    v.send_ok(v.key(kTestA), kGbMobile);
}

TEST_CASE("a test key always sends in sandbox, even when it asks for sandbox false") {
    VerifydInstance v;
    json data = v.send_ok(v.key(kTestA), us_number(2201), {{"sandbox", false}});
    CHECK(data["sandbox"] == true);
    json read = require_success(v.get_verification(v.key(kTestA), data["id"]));
    CHECK(read["sandbox"] == true);
    CHECK(is_sandbox_delivery(read["delivery"].value("status", "")));
    CHECK_THROWS(v.live_code_from_log(data["message_id"], std::chrono::milliseconds(300)));
}

TEST_CASE("a live key sends live through the provider") {
    VerifydInstance v;
    json data = v.send_ok(v.key(kLiveA), us_number(2301));
    CHECK(data["sandbox"] == false);
    const std::string code = v.live_code_from_log(data["message_id"]);
    CHECK(std::regex_match(code, std::regex("[0-9]{6}")));
    json delivery = v.wait_for_delivery(v.key(kLiveA), data["id"], "sent");
    CHECK(delivery.value("status", "") == "sent");
    CHECK(delivery.value("channel", "") == "sms");
}

TEST_CASE("a live key asking for sandbox true sends in sandbox") {
    VerifydInstance v;
    json data = v.send_ok(v.key(kLiveA), us_number(2401), {{"sandbox", true}});
    CHECK(data["sandbox"] == true);
    const std::string in_sandbox = data["id"].get<std::string>() + "?sandbox=true";
    CHECK(std::regex_match(v.sandbox_code(v.key(kLiveA), in_sandbox), std::regex("[0-9]{6}")));
    json read = require_success(v.get_verification(v.key(kLiveA), in_sandbox));
    CHECK(is_sandbox_delivery(read["delivery"].value("status", "")));
    // Without asking for sandbox, the live key does not see it.
    require_error(v.get_verification(v.key(kLiveA), data["id"]), 404, 4040);
    CHECK_THROWS(v.live_code_from_log(data["message_id"], std::chrono::milliseconds(300)));
}

TEST_CASE("a live send without a provider answers 503 with 5001 while test keys still work") {
    VerifydInstance v(Settings{{"VERIFYD_PROVIDER", std::nullopt}});
    require_error(v.send(v.key(kLiveA), {{"to", us_number(2501)}}), 503, 5001);
    json data = v.send_ok(v.key(kTestA), us_number(2502));
    CHECK(data["sandbox"] == true);
    json sandboxed = v.send_ok(v.key(kLiveA), us_number(2503), {{"sandbox", true}});
    CHECK(sandboxed["sandbox"] == true);
}
