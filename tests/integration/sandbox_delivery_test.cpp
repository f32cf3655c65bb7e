// The sandbox's simulated delivery: a sandbox message goes queued, sent, delivered by
// itself within a second, and the documented test numbers take the other paths (WhatsApp
// not capable, delivery failed, no receipt), so a login form's end-to-end test can
// exercise them without a provider. Not for: live delivery (delivery_test.cpp) or the
// events these steps post (events_test.cpp).
#include <catch2/catch.hpp>
#include <thread>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

json delivery_after(VerifydInstance& v, const json& sent, milliseconds wait) {
    std::this_thread::sleep_for(wait);
    return delivery_of(v, kTestA, sent["id"]);
}
}  // namespace

TEST_CASE("a sandbox message goes queued, sent and delivered by itself within a second") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(44001));
    const auto created = parse_rfc3339_utc(sent["created_at"]);
    // Read at once it is on its way (unless this machine took 600 ms to ask).
    json early = delivery_of(v, kTestA, sent["id"]);
    CHECK(is_sandbox_delivery(early.value("status", "")));
    CHECK(json_at(early, "/delivered_at").is_null() == (early.value("status", "") != "delivered"));

    json delivery = v.wait_for_delivery(v.key(kTestA), sent["id"], "delivered", seconds(2));
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "delivered");
    CHECK(delivery.value("channel", "") == "sms");
    REQUIRE(json_at(delivery, "/delivered_at").is_string());
    const auto delivered_at = parse_rfc3339_utc(delivery["delivered_at"]);
    REQUIRE(delivered_at);
    CHECK(*delivered_at - *created <= 1);
    json message = read_message(v, v.key(kTestA), sent["message_id"]);
    CHECK(message.value("status", "") == "delivered");
    CHECK(message["delivered_at"] == delivery["delivered_at"]);
}

TEST_CASE(
    "sandbox test numbers simulate WhatsApp not capable, a failed delivery and a missing receipt") {
    VerifydInstance v;
    const json whatsapp = {{"channel", "whatsapp"}, {"fallback", "sms"}};

    SECTION("…000102: WhatsApp cannot reach the number, so the code goes by SMS") {
        json sent = v.send_ok(v.key(kTestA), "+14152000102", whatsapp);
        json delivery = delivery_after(v, sent, milliseconds(1300));
        INFO("delivery: " << delivery.dump());
        CHECK(delivery.value("status", "") == "delivered");
        CHECK(delivery.value("channel", "") == "sms");
        CHECK(json_at(delivery, "/fallback_reason") == "recipient_not_capable");
        json without_fallback =
            v.send_ok(v.key(kTestA), "+447911000102", {{"channel", "whatsapp"}});
        json failed = delivery_after(v, without_fallback, milliseconds(600));
        CHECK(failed.value("status", "") == "failed");
        CHECK(json_at(failed, "/error") == "CHANNEL_UNAVAILABLE");
    }
    SECTION("…000103: delivery fails after acceptance, on every channel") {
        json sent = v.send_ok(v.key(kTestA), "+33612000103");
        json delivery = delivery_after(v, sent, milliseconds(1000));
        INFO("delivery: " << delivery.dump());
        CHECK(delivery.value("status", "") == "failed");
        CHECK(json_at(delivery, "/error") == "MESSAGE_FILTERED");
        json fell_back = v.send_ok(v.key(kTestA), "+14152000103", whatsapp);
        json both_failed = delivery_after(v, fell_back, milliseconds(1500));
        CHECK(both_failed.value("status", "") == "failed");
        CHECK(both_failed.value("channel", "") == "sms");
        CHECK(json_at(both_failed, "/fallback_reason") == "provider_error");
    }
    SECTION("…000104: no receipt ever, so fallback_after_seconds sends the SMS") {
        json sms = v.send_ok(v.key(kTestA), "+919876000104");
        CHECK(delivery_after(v, sms, milliseconds(1000)).value("status", "") == "sent");
        json body = whatsapp;
        body["fallback_after_seconds"] = 10;
        json sent = v.send_ok(v.key(kTestA), "+14152000104", body);
        CHECK(delivery_after(v, sent, milliseconds(1000)).value("channel", "") == "whatsapp");
        json delivery = v.wait_for_delivery(v.key(kTestA), sent["id"], "delivered", seconds(12));
        INFO("delivery: " << delivery.dump());
        CHECK(delivery.value("channel", "") == "sms");
        CHECK(json_at(delivery, "/fallback_reason") == "timeout");
    }
}
