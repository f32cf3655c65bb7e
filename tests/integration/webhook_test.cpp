// The webhook provider (§7): a live send becomes a signed POST to
// VERIFYD_WEBHOOK_URL whose body carries the message, its variables and its rendered text;
// the X-Verifyd-Signature verifies with the secret (checked here independently and with
// verifyd::verify_webhook_signature) and fails for a tampered body; retries keep the key.
// Not for: the text of each locale's body (templates_test.cpp).
#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/verifyd_instance.hpp"
#include "verifyd/delivery.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kSecret = "whsec_test_0123456789abcdef";

int64_t unix_now() {
    return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_CASE("a webhook delivery is signed with the secret and carries the rendered message") {
    FakeProvider fake;
    VerifydInstance v(
        merged(webhook_provider(fake, kSecret, "/hooks/otp"), {{"VERIFYD_APP_NAME", "Acme Shop"}}));
    const std::string to = us_number(31001);
    json sent =
        v.send_ok(v.key(kLiveA), to,
                  {{"template", {{"name", "login"}, {"variables", {{"shop", "Corner Store"}}}}}});
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v,
                 "the message to be delivered");
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 1);
    const RecordedRequest& request = requests[0];
    INFO("webhook body: " << request.body);

    CHECK(request.method == "POST");
    CHECK(request.target == "/hooks/otp");
    CHECK(request.header("Content-Type").value_or("").rfind("application/json", 0) == 0);
    CHECK(request.idempotency_key() == message_id);
    const std::string signature = request.header("X-Verifyd-Signature").value_or("");
    INFO("X-Verifyd-Signature: " << signature);
    std::smatch parts;
    REQUIRE(std::regex_match(signature, parts, std::regex("t=([0-9]+),v1=([0-9a-f]{64})")));
    CHECK(std::llabs(std::stoll(parts[1]) - request.received_unix) <= 5);

    CHECK(FakeProvider::signature_valid(kSecret, signature, request.body));
    CHECK(verifyd::verify_webhook_signature(kSecret, signature, request.body, unix_now(), 300));
    std::string tampered = request.body;
    const size_t digit = tampered.find_first_of("0123456789");
    REQUIRE(digit != std::string::npos);
    tampered[digit] = tampered[digit] == '9' ? '8' : static_cast<char>(tampered[digit] + 1);
    CHECK_FALSE(FakeProvider::signature_valid(kSecret, signature, tampered));
    CHECK_FALSE(verifyd::verify_webhook_signature(kSecret, signature, tampered, unix_now(), 300));
    CHECK_FALSE(
        FakeProvider::signature_valid("another_secret_of_enough_length", signature, request.body));
    CHECK_FALSE(verifyd::verify_webhook_signature("another_secret_of_enough_length", signature,
                                                  request.body, unix_now(), 300));
    // An old signature is refused as a replay.
    CHECK_FALSE(
        verifyd::verify_webhook_signature(kSecret, signature, request.body, unix_now() + 900, 300));

    const json& event = request.json;
    REQUIRE(event.is_object());
    CHECK(json_at(event, "/type") == "verification.message");
    CHECK(json_at(event, "/message_id") == message_id);
    CHECK(json_at(event, "/verification_id") == sent["id"]);
    CHECK(json_at(event, "/to") == to);
    CHECK(json_at(event, "/channel") == "sms");
    CHECK(json_at(event, "/locale") == "en");
    CHECK(json_at(event, "/template/name").is_string());
    CHECK(json_at(event, "/attempt") == 1);
    const std::string code = request.code();
    REQUIRE(std::regex_match(code, std::regex("[0-9]{6}")));
    CHECK(json_at(event, "/template/variables/app_name") == "Acme Shop");
    CHECK(json_at(event, "/template/variables/shop") == "Corner Store");
    REQUIRE(json_at(event, "/body").is_string());
    const std::string body = event["body"];
    CHECK(body.find(code) != std::string::npos);
    CHECK(body.find("Acme Shop") != std::string::npos);
    CHECK(body.find("{{") == std::string::npos);

    CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
    json checked = require_success(v.check(v.key(kLiveA), sent["id"], code));
    CHECK(checked.value("status", "") == "approved");
}

TEST_CASE("webhook retries keep the Idempotency-Key, count the attempt and are signed anew") {
    FakeProvider fake;
    VerifydInstance v(webhook_provider(fake, kSecret));
    fake.queue(Reply::server_error(503), 2);
    json sent = v.send_ok(v.key(kLiveA), us_number(31101));
    require_done(fake.wait_for_executions(sent["message_id"], 1, seconds(5)), v,
                 "the message to be delivered");
    std::this_thread::sleep_for(milliseconds(300));
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 3);
    for (size_t i = 0; i < requests.size(); ++i) {
        INFO("attempt " << i + 1 << ": " << requests[i].body);
        CHECK(requests[i].idempotency_key() == sent["message_id"]);
        CHECK(json_at(requests[i].json, "/attempt") == static_cast<int>(i + 1));
        CHECK(requests[i].code() == requests[0].code());
        CHECK(FakeProvider::signature_valid(
            kSecret, requests[i].header("X-Verifyd-Signature").value_or(""), requests[i].body));
    }
    CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
}

TEST_CASE("a webhook answering 4xx fails the message without a retry") {
    FakeProvider fake;
    VerifydInstance v(webhook_provider(fake, kSecret));
    fake.set_default(Reply::sent_error(410, "GONE", "This endpoint no longer takes events"));
    json sent = v.send_ok(v.key(kLiveA), us_number(31201));
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    REQUIRE(json_at(delivery, "/error").is_string());
    std::this_thread::sleep_for(milliseconds(600));
    CHECK(fake.request_count() == 1);
}
