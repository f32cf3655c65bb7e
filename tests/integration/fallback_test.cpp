// WhatsApp with `fallback: "sms"` (§4, §7): a WhatsApp refusal
// picks the fallback reason from the Sent error code and the code goes out by SMS under
// an Idempotency-Key of its own (<message id>-sms); WhatsApp failing until its attempts
// run out falls back with provider_error; without a fallback a refusal fails the message.
// Not for: retries on one channel (delivery_test.cpp).
#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

Settings sent_settings(const FakeProvider& fake) {
    return sent_provider(fake, "sent_key_" + random_hex(16));
}

json whatsapp_with_fallback() {
    return {{"channel", "whatsapp"}, {"fallback", "sms"}};
}

// The fallback of `sent` went as documented: WhatsApp under the message id, then SMS
// under <message id>-sms with the same code, once, and delivery shows it; the code works.
void require_fell_back(VerifydInstance& v, const FakeProvider& fake, const json& sent,
                       const std::string& reason) {
    const std::string message_id = sent["message_id"];
    INFO("message " << message_id << ", expected reason " << reason);
    require_done(fake.wait_for_executions(message_id + "-sms", 1, seconds(5)), v,
                 "the SMS fallback to be delivered");
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "sent");
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(json_at(delivery, "/fallback_reason") == reason);

    const auto whatsapp = fake.requests_with_key(message_id);
    const auto sms = fake.requests_with_key(message_id + "-sms");
    REQUIRE_FALSE(whatsapp.empty());
    REQUIRE(sms.size() == 1);
    for (const auto& request : whatsapp) {
        CHECK(request.channel() == "whatsapp");
        CHECK_FALSE(request.executed);
    }
    CHECK(sms[0].channel() == "sms");
    CHECK(sms[0].executed);
    CHECK(sms[0].code() == whatsapp[0].code());
    CHECK(json_at(sms[0].json, "/to") == json_at(whatsapp[0].json, "/to"));
    CHECK(sms[0].received > whatsapp.back().received);
    CHECK(fake.executions(message_id) == 0);
    CHECK(wait_for_message_status(v, v.key(kLiveA), message_id, "sent") == "sent");

    json checked = require_success(v.check(v.key(kLiveA), sent["id"], sms[0].code()));
    CHECK(checked.value("status", "") == "approved");
}

}  // namespace

TEST_CASE("a WhatsApp refusal falls back to SMS under its own key with the reason its code names") {
    struct Case {
        int status;
        const char* code;
        const char* reason;
    };
    const std::vector<Case> cases = {
        {400, "BUSINESS_007", "recipient_not_capable"},
        {422, "BUSINESS_005", "template_not_approved"},
        {400, "CHANNEL_NOT_CONNECTED", "channel_not_connected"},
        {403, "BUSINESS_099", "provider_error"},
    };
    FakeProvider fake;
    VerifydInstance v(sent_settings(fake));
    int number = 30001;
    for (const auto& c : cases) {
        fake.set_channel("whatsapp", Reply::sent_error(c.status, c.code, "WhatsApp refused"));
        json sent = v.send_ok(v.key(kLiveA), us_number(number++), whatsapp_with_fallback());
        require_fell_back(v, fake, sent, c.reason);
        // A refusal is final: WhatsApp was asked once.
        CHECK(fake.requests_with_key(sent["message_id"]).size() == 1);
    }
}

TEST_CASE("WhatsApp failing until its attempts run out falls back to SMS with provider_error") {
    FakeProvider fake;
    VerifydInstance v(merged(sent_settings(fake), {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "3"}}));
    fake.set_channel("whatsapp", Reply::server_error(503));
    json sent = v.send_ok(v.key(kLiveA), us_number(30101), whatsapp_with_fallback());
    require_fell_back(v, fake, sent, "provider_error");
    CHECK(fake.requests_with_key(sent["message_id"]).size() == 3);
}

TEST_CASE("a refused WhatsApp message without a fallback fails and no SMS is sent") {
    FakeProvider fake;
    VerifydInstance v(sent_settings(fake));
    fake.set_channel("whatsapp",
                     Reply::sent_error(400, "BUSINESS_007", "Recipient is not on WhatsApp"));
    json sent = v.send_ok(v.key(kLiveA), us_number(30201), {{"channel", "whatsapp"}});
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    CHECK(delivery.value("channel", "") == "whatsapp");
    REQUIRE(json_at(delivery, "/error").is_string());
    CHECK(delivery["error"].get<std::string>().find("not on WhatsApp") != std::string::npos);
    std::this_thread::sleep_for(milliseconds(600));
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].channel() == "whatsapp");
    CHECK(wait_for_message_status(v, v.key(kLiveA), sent["message_id"], "failed") == "failed");
}

TEST_CASE("a fallback SMS that is refused too leaves the message failed on sms") {
    FakeProvider fake;
    VerifydInstance v(sent_settings(fake));
    fake.set_channel("whatsapp", Reply::sent_error(400, "BUSINESS_007", "Not on WhatsApp"));
    fake.set_channel("sms", Reply::sent_error(400, "VALIDATION_002", "SMS not allowed here"));
    json sent = v.send_ok(v.key(kLiveA), us_number(30301), whatsapp_with_fallback());
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(json_at(delivery, "/fallback_reason") == "recipient_not_capable");
    REQUIRE(json_at(delivery, "/error").is_string());
    CHECK(delivery["error"].get<std::string>().find("SMS not allowed here") != std::string::npos);
    std::this_thread::sleep_for(milliseconds(600));
    CHECK(fake.request_count() == 2);
    CHECK(fake.executions().empty());
}

TEST_CASE("the webhook provider falls back from WhatsApp to SMS the same way") {
    const std::string secret = "whsec_fallback_0123456789";
    FakeProvider fake;
    VerifydInstance v(webhook_provider(fake, secret));
    fake.set_channel("whatsapp", Reply::sent_error(400, "BUSINESS_005", "Template not approved"));
    json sent = v.send_ok(v.key(kLiveA), us_number(30401), whatsapp_with_fallback());
    require_fell_back(v, fake, sent, "template_not_approved");
    const auto sms = fake.requests_with_key(sent["message_id"].get<std::string>() + "-sms");
    REQUIRE(sms.size() == 1);
    INFO("event: " << sms[0].body);
    CHECK(json_at(sms[0].json, "/channel") == "sms");
    CHECK(json_at(sms[0].json, "/message_id") == sent["message_id"]);
    REQUIRE(json_at(sms[0].json, "/body").is_string());
    CHECK(sms[0].json["body"].get<std::string>().find(sms[0].code()) != std::string::npos);
    CHECK(FakeProvider::signature_valid(secret, sms[0].header("X-Verifyd-Signature").value_or(""),
                                        sms[0].body));
}
