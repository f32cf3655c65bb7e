// POST /verify/check and POST /verify/{id}/cancel (§4): approval, wrong codes and the
// lock, code format, checks by number, supersession, cancellation and other accounts.
#include <catch2/catch.hpp>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

TEST_CASE("the right code approves the verification, and only once") {
    VerifydInstance v;
    const std::string to = us_number(3001);
    json sent = v.send_ok(v.key(kTestA), to);
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);

    json data = require_success(v.check(v.key(kTestA), sent["id"], code));
    CHECK(data.value("id", "") == sent["id"]);
    CHECK(data.value("to", "") == to);
    CHECK(data.value("status", "") == "approved");
    REQUIRE(data["verified"].is_boolean());
    CHECK(data["verified"] == true);
    CHECK(data["attempts_remaining"].is_number_integer());

    require_error(v.check(v.key(kTestA), sent["id"], code), 404, 4040);
    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read.value("status", "") == "approved");
}

TEST_CASE("a wrong code uses one attempt and the fifth locks the verification") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(3101));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    const std::string wrong = wrong_code(code);

    for (int remaining = 4; remaining >= 0; --remaining) {
        INFO("wrong code number " << 5 - remaining);
        json data = require_success(v.check(v.key(kTestA), sent["id"], wrong));
        CHECK(data["verified"] == false);
        CHECK(data["attempts_remaining"] == remaining);
        CHECK(data.value("status", "") == (remaining > 0 ? "pending" : "locked"));
    }
    require_error(v.check(v.key(kTestA), sent["id"], code), 429, 4042);
    require_error(v.check(v.key(kTestA), sent["id"], wrong), 429, 4042);

    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read.value("status", "") == "locked");
    CHECK(read["attempts"] == 5);
    CHECK(read["attempts_remaining"] == 0);
}

TEST_CASE("VERIFYD_MAX_ATTEMPTS sets how many wrong codes lock a verification") {
    VerifydInstance v(Settings{{"VERIFYD_MAX_ATTEMPTS", "2"}});
    json sent = v.send_ok(v.key(kTestA), us_number(3151));
    CHECK(sent["max_attempts"] == 2);
    CHECK(sent["attempts_remaining"] == 2);
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    json first = require_success(v.check(v.key(kTestA), sent["id"], wrong_code(code)));
    CHECK(first["attempts_remaining"] == 1);
    json second = require_success(v.check(v.key(kTestA), sent["id"], wrong_code(code)));
    CHECK(second["attempts_remaining"] == 0);
    CHECK(second.value("status", "") == "locked");
    require_error(v.check(v.key(kTestA), sent["id"], code), 429, 4042);
}

TEST_CASE("a code that is not 4 to 10 digits is refused with 4000 and not counted") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(3201));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    for (const json& bad : {json("12a456"), json("123"), json("12345678901"), json(""),
                            json(" 123456"), json("１２３４５６"), json(123456), json(nullptr)}) {
        INFO("code: " << bad.dump());
        json error =
            require_error(v.check(v.key(kTestA), {{"id", sent["id"]}, {"code", bad}}), 400, 4000);
        require_detail(error, "code");
    }
    require_error(v.check(v.key(kTestA), {{"id", sent["id"]}}), 400, 4000);

    json data = require_success(v.check(v.key(kTestA), sent["id"], wrong_code(code)));
    CHECK(data["attempts_remaining"] == 4);
    json approved = require_success(v.check(v.key(kTestA), sent["id"], code));
    CHECK(approved.value("status", "") == "approved");
}

TEST_CASE("a code is compared whole: its prefix or a longer code is not approved") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(3251));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    json prefix = require_success(v.check(v.key(kTestA), sent["id"], code.substr(0, 5)));
    CHECK(prefix["verified"] == false);
    json longer = require_success(v.check(v.key(kTestA), sent["id"], code + "1"));
    CHECK(longer["verified"] == false);
    CHECK(longer["attempts_remaining"] == 3);
    json right = require_success(v.check(v.key(kTestA), sent["id"], code));
    CHECK(right["verified"] == true);
}

TEST_CASE("a check by number checks the account's current verification") {
    VerifydInstance v;
    const std::string to = us_number(3301);
    require_error(v.check(v.key(kTestA), {{"to", to}, {"code", "123456"}}), 404, 4040);

    json sent = v.send_ok(v.key(kTestA), to);
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    json wrong = require_success(v.check(v.key(kTestA), {{"to", to}, {"code", wrong_code(code)}}));
    CHECK(wrong.value("id", "") == sent["id"]);
    CHECK(wrong["attempts_remaining"] == 4);

    json data = require_success(v.check(v.key(kTestA), {{"to", to}, {"code", code}}));
    CHECK(data.value("id", "") == sent["id"]);
    CHECK(data.value("status", "") == "approved");
    CHECK(data["verified"] == true);
    require_error(v.check(v.key(kTestA), {{"to", to}, {"code", code}}), 404, 4040);
}

TEST_CASE("a check by a number that is not strict E.164 is refused with 4001") {
    VerifydInstance v;
    require_error(v.check(v.key(kTestA), {{"to", "4155553302"}, {"code", "123456"}}), 400, 4001);
}

TEST_CASE(
    "a check by a number spelt with its trunk prefix is refused with 4001 naming the canonical "
    "form") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), "+447911123456");
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    json error = require_error(v.check(v.key(kTestA), {{"to", "+4407911123456"}, {"code", code}}),
                               400, 4001);
    CHECK(require_detail(error, "to").find("+447911123456") != std::string::npos);
    // The refusal used no attempt: the canonical spelling finds the verification untouched.
    json data = require_success(v.check(v.key(kTestA), {{"to", "+447911123456"}, {"code", code}}));
    CHECK(data.value("id", "") == sent["id"]);
    CHECK(data["verified"] == true);
}

TEST_CASE("a check with both id and to, with neither, or with an empty id is refused with 4000") {
    VerifydInstance v;
    const std::string to = us_number(3401);
    json sent = v.send_ok(v.key(kTestA), to);
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    require_error(v.check(v.key(kTestA), {{"id", sent["id"]}, {"to", to}, {"code", code}}), 400,
                  4000);
    require_error(v.check(v.key(kTestA), {{"code", code}}), 400, 4000);
    require_error(v.check(v.key(kTestA), {{"id", 5}, {"code", code}}), 400, 4000);
    const json empty =
        require_error(v.check(v.key(kTestA), {{"id", ""}, {"code", code}}), 400, 4000);
    CHECK_FALSE(require_detail(empty, "id").empty());
    // None of the refused checks spent or counted anything.
    json data = require_success(v.check(v.key(kTestA), sent["id"], code));
    CHECK(data.value("status", "") == "approved");
}

TEST_CASE("a check of an unknown or malformed id answers 4040") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(3501));
    std::string unknown = sent["id"].get<std::string>();
    unknown.back() = unknown.back() == 'A' ? 'B' : 'A';
    for (const std::string& id : {unknown, std::string("vrf_doesnotexist"), std::string("garbage"),
                                  sent["message_id"].get<std::string>()}) {
        INFO("id: " << id);
        require_error(v.check(v.key(kTestA), id, "123456"), 404, 4040);
    }
}

TEST_CASE("a second send to the same number supersedes the first") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    const std::string to = us_number(3601);
    json first = v.send_ok(v.key(kTestA), to);
    const std::string first_code = v.sandbox_code(v.key(kTestA), first["id"]);
    json second = v.send_ok(v.key(kTestA), to);
    const std::string second_code = v.sandbox_code(v.key(kTestA), second["id"]);

    require_error(v.check(v.key(kTestA), first["id"], first_code), 404, 4040);
    json old = require_success(v.get_verification(v.key(kTestA), first["id"]));
    CHECK(old.value("status", "") == "canceled");

    json data = require_success(v.check(v.key(kTestA), second["id"], second_code));
    CHECK(data.value("status", "") == "approved");
}

TEST_CASE("a send by another account does not supersede this account's verification") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    const std::string to = us_number(3651);
    json mine = v.send_ok(v.key(kTestA), to);
    const std::string code = v.sandbox_code(v.key(kTestA), mine["id"]);
    v.send_ok(v.key(kTestB), to);
    json data = require_success(v.check(v.key(kTestA), mine["id"], code));
    CHECK(data.value("status", "") == "approved");
}

TEST_CASE("a canceled verification reads canceled and answers 4040 to checks") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(3701));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);

    json canceled = require_success(v.cancel(v.key(kTestA), sent["id"]));
    CHECK(canceled.value("status", "") == "canceled");
    CHECK(canceled.value("id", "") == sent["id"]);
    require_error(v.check(v.key(kTestA), sent["id"], code), 404, 4040);
    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read.value("status", "") == "canceled");
    require_error(v.cancel(v.key(kTestA), "vrf_doesnotexist"), 404, 4040);
}

TEST_CASE("another account's verification answers 4040 and its message 4044, never 403") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(3801));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    const std::string& other = v.key(kTestB);

    require_error(v.check(other, sent["id"], code), 404, 4040);
    require_error(v.check(other, {{"to", us_number(3801)}, {"code", code}}), 404, 4040);
    require_error(v.get_verification(other, sent["id"]), 404, 4040);
    require_error(v.cancel(other, sent["id"]), 404, 4040);
    require_error(v.get("/messages/" + sent["message_id"].get<std::string>(), other), 404, 4044);

    // Nothing the other account tried counted against or changed the verification.
    json read = require_success(v.get_verification(v.key(kTestA), sent["id"]));
    CHECK(read.value("status", "") == "pending");
    CHECK(read["attempts"] == 0);
    json data = require_success(v.check(v.key(kTestA), sent["id"], code));
    CHECK(data.value("status", "") == "approved");
}

TEST_CASE("a verification sent through one replica is checked through another") {
    VerifydInstance v;
    const int replica = v.start_replica();
    json sent = v.send_ok(v.key(kTestA), us_number(3901));
    const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
    HttpClient other = HttpClient(replica);
    json data = require_success(
        post_json(other, "/verify/check", v.key(kTestA), {{"id", sent["id"]}, {"code", code}}));
    CHECK(data.value("status", "") == "approved");
}
