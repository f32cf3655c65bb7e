// The fallback timer (fallback_after_seconds) and the fallback's durability: a WhatsApp
// message with no delivered receipt in time goes by SMS with fallback_reason "timeout";
// a SIGKILL between a failure receipt and the SMS, or a restart before the timer runs
// out, loses nothing; receipts at two replicas make one SMS. Not for: the receipts'
// signatures and ordering (receipts_test.cpp).
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/receipts.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

json whatsapp_fallback_after(int seconds) {
    return {{"channel", "whatsapp"}, {"fallback", "sms"}, {"fallback_after_seconds", seconds}};
}

}  // namespace

TEST_CASE("fallback_after_seconds needs fallback sms and is from 10 to 300") {
    VerifydInstance v;
    json refused = require_error(
        v.send(v.key(kLiveA),
               {{"to", us_number(42001)}, {"channel", "whatsapp"}, {"fallback_after_seconds", 30}}),
        400, 4000);
    CHECK_FALSE(require_detail(refused, "fallback_after_seconds").empty());
    for (int out_of_range : {9, 301, -1}) {
        INFO(out_of_range);
        json body = whatsapp_fallback_after(out_of_range);
        body["to"] = us_number(42002);
        require_error(v.send(v.key(kLiveA), body), 400, 4000);
    }
    json body = whatsapp_fallback_after(10);
    body["to"] = us_number(42003);
    json sent = require_success(v.send(v.key(kLiveA), body), 201);
    CHECK(sent["fallback_after_seconds"] == 10);
}

TEST_CASE(
    "with no delivered receipt by fallback_after_seconds the code goes by SMS, and not when one "
    "came") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json delivered = v.send_ok(v.key(kLiveA), us_number(42101), whatsapp_fallback_after(10));
    json silent = v.send_ok(v.key(kLiveA), us_number(42102), whatsapp_fallback_after(10));
    const std::string delivered_id = delivered["message_id"], silent_id = silent["message_id"];
    require_done(fake.wait_for_executions(delivered_id, 1, seconds(5)) &&
                     fake.wait_for_executions(silent_id, 1, seconds(5)),
                 v, "both WhatsApp messages to be accepted");
    v.wait_for_delivery(v.key(kLiveA), delivered["id"], "sent");
    require_success(post_sent_receipt(
        v.port(), whsec,
        sent_status_event(accepted_provider_id(fake, delivered_id), "DELIVERED", "whatsapp")));

    require_done(fake.wait_for_executions(silent_id + "-sms", 1, seconds(16)), v,
                 "the SMS after the timer");
    const auto sent_at = parse_rfc3339_utc(silent["created_at"]);
    const auto sms = fake.requests_with_key(silent_id + "-sms");
    REQUIRE(sms.size() == 1);
    CHECK(sms[0].received_unix >= *sent_at + 9);
    CHECK(sms[0].code() == fake.requests_with_key(silent_id)[0].code());
    json delivery = v.wait_for_delivery(v.key(kLiveA), silent["id"], "sent");
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(json_at(delivery, "/fallback_reason") == "timeout");

    std::this_thread::sleep_for(milliseconds(1500));
    CHECK(fake.requests_with_key(delivered_id + "-sms").empty());
    CHECK(require_success(v.get_verification(v.key(kLiveA), delivered["id"]))["delivery"].value(
              "status", "") == "delivered");
    CHECK(fake.executions(silent_id + "-sms") == 1);
}

TEST_CASE("a restart before the fallback timer runs out loses no timer") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, "sent_key_" + random_hex(16)));
    json sent = v.send_ok(v.key(kLiveA), us_number(42201), whatsapp_fallback_after(10));
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v, "WhatsApp to accept");
    v.kill();
    std::this_thread::sleep_for(seconds(1));
    v.restart();
    require_done(fake.wait_for_executions(message_id + "-sms", 1, seconds(16)), v,
                 "the SMS after the timer, from the restarted verifyd");
    std::this_thread::sleep_for(milliseconds(800));
    CHECK(fake.executions(message_id + "-sms") == 1);
    CHECK(json_at(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent"), "/fallback_reason") ==
          "timeout");
}

TEST_CASE(
    "a SIGKILL between a failure receipt and the SMS it causes loses nothing: the SMS goes once") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent =
        v.send_ok(v.key(kLiveA), us_number(42301), {{"channel", "whatsapp"}, {"fallback", "sms"}});
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v, "WhatsApp to accept");
    v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");

    fake.set_channel("sms", Reply::hang());
    require_success(
        post_sent_receipt(v.port(), whsec,
                          sent_status_event(accepted_provider_id(fake, message_id), "FAILED",
                                            "whatsapp", "CHANNEL_UNAVAILABLE")));
    require_done(fake.wait_for_held(1, seconds(5)), v, "the SMS attempt to be in flight");
    v.kill();
    fake.clear_channel("sms");
    fake.release();
    v.restart();
    require_done(fake.wait_for_executions(message_id + "-sms", 1, seconds(10)), v,
                 "the SMS after the restart");
    std::this_thread::sleep_for(milliseconds(800));
    CHECK(fake.executions(message_id + "-sms") == 1);
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(json_at(delivery, "/fallback_reason") == "recipient_not_capable");
}

TEST_CASE("failure receipts at two replicas at once make one SMS") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    const int second = v.start_replica();
    json sent = v.send_ok(v.key(kLiveA), us_number(42401), whatsapp_fallback_after(10));
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v, "WhatsApp to accept");
    v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    const json failure = sent_status_event(accepted_provider_id(fake, message_id), "FAILED",
                                           "whatsapp", "TEMPLATE_NOT_APPROVED");
    std::vector<std::thread> posts;
    std::atomic<int> answered_ok{0};
    for (int i = 0; i < 40; ++i)
        posts.emplace_back([&, i] {
            if (post_sent_receipt(i % 2 ? second : v.port(), whsec, failure).status == 200)
                ++answered_ok;
        });
    for (auto& thread : posts) thread.join();
    CHECK(answered_ok == 40);
    require_done(fake.wait_for_executions(message_id + "-sms", 1, seconds(5)), v, "the SMS");
    // The timer, running out later at either replica, finds the message on SMS already.
    std::this_thread::sleep_for(seconds(11));
    CHECK(fake.requests_with_key(message_id + "-sms").size() == 1);
    CHECK(json_at(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent"), "/fallback_reason") ==
          "template_not_approved");
}
