// GET /verify/{id}, GET /messages/{id} (and /v3/messages/{id}) and GET /messages?to=
// (§4): the fields they show, what only sandbox verifications expose, and listing.
#include <catch2/catch.hpp>
#include <regex>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

std::string messages_path(const std::string& to, const std::string& query = {}) {
    // '+' in a query string may be read as a space, so it is percent-encoded here.
    return "/messages?to=%2B" + to.substr(1) + query;
}

std::vector<std::string> listed_ids(const json& data) {
    std::vector<std::string> ids;
    for (const auto& message : data.at("messages")) {
        ids.push_back(message.value("id", ""));
    }
    return ids;
}

bool equals_number(const json& value, int number) {
    return (value.is_number_integer() && value == number) ||
           (value.is_string() && value == std::to_string(number));
}

}  // namespace

TEST_CASE("GET /verify/{id} of a sandbox verification shows its state and template variables") {
    VerifydInstance v;
    const std::string to = us_number(4001);
    json sent = v.send_ok(v.key(kTestA), to,
                          {{"template", {{"name", "login"}, {"variables", {{"shop", "Acme"}}}}}});
    json data = require_success(v.get_verification(v.key(kTestA), sent["id"]));

    for (const char* field :
         {"id", "to", "channel", "code_length", "max_attempts", "attempts_remaining", "created_at",
          "expires_at", "sandbox", "message_id"}) {
        INFO("field: " << field);
        CHECK(data[field] == sent[field]);
    }
    CHECK(data.value("status", "") == "pending");
    REQUIRE(data["attempts"].is_number_integer());
    CHECK(data["attempts"] == 0);

    REQUIRE(data["delivery"].is_object());
    CHECK(is_sandbox_delivery(data["delivery"].value("status", "")));
    CHECK(data["delivery"].value("channel", "") == "sms");
    CHECK(data["delivery"].contains("fallback_reason"));
    CHECK(data["delivery"]["fallback_reason"].is_null());
    CHECK(data["delivery"].contains("error"));
    CHECK(data["delivery"]["error"].is_null());

    REQUIRE(data["template_variables"].is_object());
    const json& variables = data["template_variables"];
    REQUIRE(variables["code"].is_string());
    CHECK(std::regex_match(variables["code"].get<std::string>(), std::regex("[0-9]{6}")));
    CHECK(equals_number(variables["ttl_minutes"], 10));
    CHECK(variables.value("shop", "") == "Acme");
}

TEST_CASE("GET /verify/{id} counts wrong attempts") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(4101));
    std::string wrong = v.sandbox_code(v.key(kTestA), sent["id"]);
    wrong[0] = wrong[0] == '1' ? '2' : '1';
    require_success(v.check(v.key(kTestA), sent["id"], wrong));
    require_success(v.check(v.key(kTestA), sent["id"], wrong));
    json data = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(data["attempts"] == 2);
    CHECK(data["attempts_remaining"] == 3);
    CHECK(data.value("status", "") == "pending");
}

TEST_CASE("GET /verify/{id} of an unknown or malformed id answers 4040") {
    VerifydInstance v;
    for (const char* id : {"vrf_doesnotexist", "garbage", "msg_doesnotexist",
                           "vrf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
        INFO("id: " << id);
        require_error(v.get_verification(v.key(kTestA), id), 404, 4040);
    }
}

TEST_CASE("a live verification never exposes its code") {
    VerifydInstance v;
    const std::string to = us_number(4201);
    HttpResponse send = v.send(v.key(kLiveA), {{"to", to}, {"code_length", 10}});
    json sent = require_success(send, 201);
    CHECK(sent["sandbox"] == false);
    const std::string code = v.live_code_from_log(sent["message_id"]);
    REQUIRE(code.size() == 10);
    CHECK(send.body.find(code) == std::string::npos);

    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    CHECK(delivery.value("status", "") == "sent");

    HttpResponse read = v.get_verification(v.key(kLiveA), sent["id"]);
    json data = require_success(read);
    CHECK_FALSE(data.contains("template_variables"));
    CHECK_FALSE(contains_key(data, "code"));
    CHECK(read.body.find(code) == std::string::npos);

    for (const std::string& path :
         {"/messages/" + sent["message_id"].get<std::string>(),
          "/v3/messages/" + sent["message_id"].get<std::string>(), messages_path(to)}) {
        INFO("GET " << path);
        HttpResponse response = v.get(path, v.key(kLiveA));
        json message = require_success(response);
        if (message.contains("messages")) {
            REQUIRE(message["messages"].size() == 1);
            message = message["messages"][0];
        }
        CHECK(message["sandbox"] == false);
        CHECK_FALSE(message.contains("body"));
        REQUIRE(message["template"].is_object());
        REQUIRE(message["template"]["variables"].is_object());
        CHECK_FALSE(message["template"]["variables"].contains("code"));
        CHECK_FALSE(contains_key(message, "code"));
        CHECK(response.body.find(code) == std::string::npos);
    }

    // The code still works: it was withheld, not lost.
    json approved = require_success(v.check(v.key(kLiveA), sent["id"], code));
    CHECK(approved.value("status", "") == "approved");
}

TEST_CASE("GET /messages/{id} of a sandbox message shows the code in its variables and body") {
    VerifydInstance v;
    const std::string to = us_number(4301);
    json sent = v.send_ok(v.key(kTestA), to);
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    json data =
        require_success(v.get("/messages/" + sent["message_id"].get<std::string>(), v.key(kTestA)));

    CHECK(data.value("id", "") == sent["message_id"]);
    CHECK(data.value("verification_id", "") == sent["id"]);
    CHECK(data.value("to", "") == to);
    CHECK(data.value("channel", "") == "sms");
    CHECK(is_sandbox_delivery(data.value("status", "")));
    CHECK(data["sandbox"] == true);
    REQUIRE(data["template"].is_object());
    CHECK(data["template"]["name"].is_string());
    json named = v.send_ok(v.key(kTestA), us_number(4302),
                           {{"template", {{"name", "login"}, {"variables", {{"shop", "Acme"}}}}}});
    json named_message = require_success(
        v.get("/messages/" + named["message_id"].get<std::string>(), v.key(kTestA)));
    CHECK(named_message["template"].value("name", "") == "login");
    CHECK(named_message["template"]["variables"].value("shop", "") == "Acme");
    REQUIRE(data["template"]["variables"].is_object());
    CHECK(data["template"]["variables"].value("code", "") == code);
    REQUIRE(data["body"].is_string());
    CHECK(data["body"].get<std::string>().find(code) != std::string::npos);
    REQUIRE(data["created_at"].is_string());
    CHECK(is_rfc3339_utc(data["created_at"]));
}

TEST_CASE("VERIFYD_APP_NAME is the app_name template variable of a message") {
    VerifydInstance v(Settings{{"VERIFYD_APP_NAME", "Acme Login"}});
    json sent = v.send_ok(v.key(kTestA), us_number(4351));
    json data =
        require_success(v.get("/messages/" + sent["message_id"].get<std::string>(), v.key(kTestA)));
    CHECK(data["template"]["variables"].value("app_name", "") == "Acme Login");
}

TEST_CASE("a message is served at /v3/messages/{id} as at /messages/{id}") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(4401));
    const std::string id = sent["message_id"];
    json plain = require_success(v.get("/messages/" + id, v.key(kTestA)));
    json v3 = require_success(v.get("/v3/messages/" + id, v.key(kTestA)));
    CHECK(plain == v3);
}

TEST_CASE("an unknown or malformed message id answers 4044") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(4451));
    for (const std::string& id :
         {std::string("msg_doesnotexist"), std::string("garbage"), sent["id"].get<std::string>()}) {
        INFO("id: " << id);
        require_error(v.get("/messages/" + id, v.key(kTestA)), 404, 4044);
        require_error(v.get("/v3/messages/" + id, v.key(kTestA)), 404, 4044);
    }
}

TEST_CASE("GET /messages?to= lists the account's messages to that number, newest first") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    const std::string to = us_number(4501);
    std::vector<std::string> sent_ids;
    for (int i = 0; i < 3; ++i) {
        sent_ids.push_back(v.send_ok(v.key(kTestA), to)["message_id"]);
    }
    v.send_ok(v.key(kTestA), us_number(4502));
    v.send_ok(v.key(kTestB), to);
    const std::vector<std::string> newest_first(sent_ids.rbegin(), sent_ids.rend());

    json all = require_success(v.get(messages_path(to), v.key(kTestA)));
    REQUIRE(all["messages"].is_array());
    CHECK(listed_ids(all) == newest_first);
    for (const auto& message : all["messages"]) {
        CHECK(message.value("to", "") == to);
        CHECK(is_sandbox_delivery(message.value("status", "")));
    }

    json two = require_success(v.get(messages_path(to, "&limit=2"), v.key(kTestA)));
    CHECK(listed_ids(two) ==
          std::vector<std::string>(newest_first.begin(), newest_first.begin() + 2));

    json none = require_success(v.get(messages_path(us_number(4503)), v.key(kTestA)));
    REQUIRE(none["messages"].is_array());
    CHECK(none["messages"].empty());
    json others = require_success(v.get(messages_path(to), v.key(kTestB)));
    CHECK(others["messages"].size() == 1);
}

TEST_CASE("GET /messages defaults to ten messages") {
    VerifydInstance v(
        Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}, {"VERIFYD_SEND_LIMITS", "20/600"}});
    const std::string to = us_number(4551);
    for (int i = 0; i < 11; ++i) {
        v.send_ok(v.key(kTestA), to);
    }
    CHECK(require_success(v.get(messages_path(to), v.key(kTestA)))["messages"].size() == 10);
    CHECK(
        require_success(v.get(messages_path(to, "&limit=100"), v.key(kTestA)))["messages"].size() ==
        11);
    CHECK(require_success(v.get(messages_path(to, "&limit=1"), v.key(kTestA)))["messages"].size() ==
          1);
}

TEST_CASE("GET /messages takes a limit from 1 to 100 only") {
    VerifydInstance v;
    const std::string to = us_number(4601);
    for (const char* limit : {"0", "101", "x", "-1", "", "5x"}) {
        INFO("limit: '" << limit << "'");
        require_error(v.get(messages_path(to, std::string("&limit=") + limit), v.key(kTestA)), 400,
                      4000);
    }
}

TEST_CASE(
    "GET /messages without a valid to is refused for a live key, and lists the inbox for a "
    "sandbox key") {
    VerifydInstance v;
    require_error(v.get("/messages", v.key(kLiveA)), 400, 4000);
    require_error(v.get("/messages?limit=5", v.key(kLiveA)), 400, 4000);
    require_error(v.get("/messages?to=", v.key(kTestA)), 400, 4000);
    require_error(v.get("/messages?to=123", v.key(kTestA)), 400, 4001);
    require_error(v.get("/messages?to=%2B1%20415%20555%202671", v.key(kTestA)), 400, 4001);
}

TEST_CASE("GET /messages?to= takes the number with a literal plus, as the contract writes it") {
    VerifydInstance v;
    const std::string to = us_number(4701);
    json sent = v.send_ok(v.key(kTestA), to);
    json data = require_success(v.get("/messages?to=" + to, v.key(kTestA)));
    REQUIRE(data["messages"].size() == 1);
    CHECK(data["messages"][0].value("id", "") == sent["message_id"]);
}
