// Delivery receipts (POST /webhooks/sent, POST /webhooks/delivery): signed as each
// provider signs them, applied once whatever their number or order, and shown by GET
// /verify/{id} and GET /messages/{id}; a WhatsApp message that fails after acceptance
// falls back to SMS exactly once. Not for: the timer fallback (fallback_timer_test.cpp)
// or refusals at send time (fallback_test.cpp).
#include "support/receipts.hpp"

#include <atomic>
#include <catch2/catch.hpp>
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

// Sends a live message and waits until the fake Sent API accepted it on `channel`:
// returns the send's data, with the id Sent gave it as "provider_id".
json send_accepted(VerifydInstance& v, const FakeProvider& fake, const std::string& to,
                   const json& extra = json::object(), const std::string& channel = "sms") {
    json sent = v.send_ok(v.key(kLiveA), to, extra);
    const std::string key = sent["message_id"].get<std::string>() +
                            (channel == "sms" && extra.contains("fallback") ? "-sms" : "");
    require_done(fake.wait_for_executions(key, 1, seconds(5)), v, "Sent to accept " + key);
    v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    sent["provider_id"] = accepted_provider_id(fake, key);
    REQUIRE_FALSE(sent["provider_id"].get<std::string>().empty());
    return sent;
}
}  // namespace

TEST_CASE(
    "a Sent receipt signed as Sent signs it marks the message delivered, with the time and "
    "channel") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent = send_accepted(v, fake, us_number(41001));
    CHECK(json_at(delivery_of(v, kLiveA, sent["id"]), "/delivered_at").is_null());

    const int64_t before = unix_now();
    HttpResponse answer = post_sent_receipt(
        v.port(), whsec, sent_status_event(sent["provider_id"], "DELIVERED", "sms"));
    json data = require_success(answer);
    CHECK(data.value("outcome", "") == "delivered");

    json delivery = delivery_of(v, kLiveA, sent["id"]);
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "delivered");
    CHECK(delivery.value("channel", "") == "sms");
    REQUIRE(json_at(delivery, "/delivered_at").is_string());
    auto delivered_at = parse_rfc3339_utc(delivery["delivered_at"]);
    REQUIRE(delivered_at);
    CHECK(*delivered_at >= before - 1);
    CHECK(*delivered_at <= unix_now() + 1);
    json message = read_message(v, v.key(kLiveA), sent["message_id"]);
    CHECK(message.value("status", "") == "delivered");
    CHECK(message.value("channel", "") == "sms");
    CHECK(message["delivered_at"] == delivery["delivered_at"]);

    const std::string metrics = v.get("/metrics").body;
    CHECK(metric_value(metrics, "verifyd_delivery_latency_seconds_count", {{"channel", "sms"}}) ==
          1.0);
    CHECK(metric_value(metrics, "verifyd_receipts_total",
                       {{"provider", "sent"}, {"outcome", "delivered"}}) == 1.0);
}

TEST_CASE("receipts Sent posts the moment it has answered are applied, none lost") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    fake.post_receipts_to(v.port(), whsec, "DELIVERED");
    std::vector<json> sent;
    for (int i = 0; i < 20; ++i) sent.push_back(v.send_ok(v.key(kLiveA), us_number(41050 + i)));
    for (const json& one : sent) {
        INFO("message " << one["message_id"]);
        json delivery = v.wait_for_delivery(v.key(kLiveA), one["id"], "delivered");
        CHECK(delivery.value("status", "") == "delivered");
    }
    // A receipt is applied in Redis before verifyd answers it, and one that came early is
    // counted after it is applied: both are waited for.
    wait_until([&] { return fake.receipt_answers().size() == 20; }, std::chrono::seconds(5));
    const auto answers = fake.receipt_answers();
    CHECK(answers.size() == 20);
    for (int status : answers) CHECK(status == 200);
    const auto delivered = [&] {
        return metric_value(v.get("/metrics").body, "verifyd_receipts_total",
                            {{"provider", "sent"}, {"outcome", "delivered"}});
    };
    wait_until([&] { return delivered() == 20.0; }, std::chrono::seconds(5));
    CHECK(delivered() == 20.0);
}

TEST_CASE("a receipt that comes before Sent's answer is recorded is kept and applied when it is") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    Reply accepted;
    accepted.body =
        json{{"success", true}, {"data", {{"id", "sent_early_1"}, {"status", "QUEUED"}}}}.dump();
    fake.queue(accepted);
    json parked = require_success(post_sent_receipt(
        v.port(), whsec, sent_status_event("sent_early_1", "FAILED", "sms", "MESSAGE_FILTERED")));
    CHECK(parked.value("outcome", "") == "parked");

    json sent = v.send_ok(v.key(kLiveA), us_number(41060));
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    CHECK(json_at(delivery, "/error") == "MESSAGE_FILTERED");
    CHECK(accepted_provider_id(fake, sent["message_id"]) == "sent_early_1");
}

TEST_CASE(
    "a receipt with a missing or wrong signature, or signed five minutes off, answers 401 and "
    "changes nothing") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent = send_accepted(v, fake, us_number(41101));
    const json event = sent_status_event(sent["provider_id"], "DELIVERED", "sms");
    const std::string body = event.dump();

    SECTION("no signature headers") {
        HttpClient client(v.port());
        require_error(client.post("/webhooks/sent", {{"Content-Type", "application/json"}}, body),
                      401, 4010);
    }
    SECTION("signed with another secret") {
        require_error(post_sent_receipt(v.port(), new_sent_webhook_secret(), event), 401, 4011);
    }
    SECTION("a body changed after signing") {
        Headers headers = sent_signature_headers(whsec, body, unix_now());
        json changed = event;
        changed["payload"]["message_status"] = "FAILED";
        HttpClient client(v.port());
        require_error(client.post("/webhooks/sent", headers, changed.dump()), 401, 4011);
    }
    SECTION("a timestamp more than five minutes old") {
        require_error(post_sent_receipt(v.port(), whsec, event, -320), 401, 4011);
    }
    SECTION("a timestamp more than five minutes ahead") {
        require_error(post_sent_receipt(v.port(), whsec, event, 320), 401, 4011);
    }
    CHECK(delivery_of(v, kLiveA, sent["id"]).value("status", "") == "sent");
    // Within five minutes is accepted.
    require_success(post_sent_receipt(v.port(), whsec, event, -240));
    CHECK(delivery_of(v, kLiveA, sent["id"]).value("status", "") == "delivered");
}

TEST_CASE(
    "receipts only move a message forward: repeats, late SENTs and FAILED after DELIVERED change "
    "nothing") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent = send_accepted(v, fake, us_number(41201));
    const std::string id = sent["provider_id"];

    CHECK(require_success(
              post_sent_receipt(v.port(), whsec, sent_status_event(id, "DELIVERED", "sms")))
              .value("outcome", "") == "delivered");
    const json delivered = delivery_of(v, kLiveA, sent["id"]);
    for (const char* status : {"DELIVERED", "SENT", "QUEUED", "FAILED", "READ"}) {
        INFO("late " << status);
        json answer = require_success(post_sent_receipt(
            v.port(), whsec, sent_status_event(id, status, "sms", "MESSAGE_FILTERED")));
        CHECK(answer.value("outcome", "") == "ignored");
        CHECK(delivery_of(v, kLiveA, sent["id"]) == delivered);
    }
    // A status Sent has not documented is logged and changes nothing.
    require_success(post_sent_receipt(v.port(), whsec, sent_status_event(id, "TELEPORTED", "sms")));
    CHECK(delivery_of(v, kLiveA, sent["id"]) == delivered);
    require_done(
        wait_until(
            [&] { return v.log().find("receipt with an unknown status") != std::string::npos; },
            seconds(3)),
        v, "the unknown status to be logged");
}

TEST_CASE("a receipt for a message verifyd does not know answers 200 and changes nothing") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent = send_accepted(v, fake, us_number(41301));
    json answer = require_success(post_sent_receipt(
        v.port(), whsec,
        sent_status_event("8ba7b830-9dad-11d1-80b4-00c04fd430c8", "FAILED", "sms")));
    CHECK(answer.value("outcome", "") == "parked");
    // Not a message event at all: a template's approval.
    json templates = {{"field", "templates"},
                      {"payload", {{"template_id", "t1"}, {"status", "APPROVED"}}}};
    CHECK(require_success(post_sent_receipt(v.port(), whsec, templates)).value("outcome", "") ==
          "ignored");
    CHECK(delivery_of(v, kLiveA, sent["id"]).value("status", "") == "sent");
}

TEST_CASE(
    "a FAILED receipt records Sent's error code, given as payload.error_code or "
    "payload.error.code") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json first = send_accepted(v, fake, us_number(41401));
    json second = send_accepted(v, fake, us_number(41402));

    require_success(post_sent_receipt(
        v.port(), whsec,
        sent_status_event(first["provider_id"], "FAILED", "sms", "MESSAGE_FILTERED")));
    json nested = sent_status_event(second["provider_id"], "FAILED", "sms");
    nested["payload"]["error"] = {{"code", "INSUFFICIENT_BALANCE"}, {"message", "Top up"}};
    require_success(post_sent_receipt(v.port(), whsec, nested));

    for (const auto& [sent, code] :
         {std::pair<json, std::string>{first, "MESSAGE_FILTERED"},
          std::pair<json, std::string>{second, "INSUFFICIENT_BALANCE"}}) {
        json delivery = delivery_of(v, kLiveA, sent["id"]);
        INFO("delivery: " << delivery.dump());
        CHECK(delivery.value("status", "") == "failed");
        CHECK(json_at(delivery, "/error") == code);
        json message = read_message(v, v.key(kLiveA), sent["message_id"]);
        CHECK(message.value("status", "") == "failed");
        CHECK(json_at(message, "/error") == code);
    }
}

TEST_CASE("Sent receipts are refused while no VERIFYD_SENT_WEBHOOK_SECRET is set") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, "sent_key_" + random_hex(16)));
    const std::string whsec = new_sent_webhook_secret();
    require_error(post_sent_receipt(v.port(), whsec, sent_status_event("x", "DELIVERED", "sms")),
                  401, 4011);
}

TEST_CASE(
    "a WhatsApp message that fails after acceptance falls back to SMS once, whatever the "
    "receipts") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent = send_accepted(v, fake, us_number(41501),
                              {{"channel", "whatsapp"}, {"fallback", "sms"}}, "whatsapp");
    const std::string message_id = sent["message_id"];
    // Fifty copies of the failure at once, as a provider's retry storm would send them.
    const json failure =
        sent_status_event(sent["provider_id"], "FAILED", "whatsapp", "CHANNEL_UNAVAILABLE");
    std::vector<std::thread> storm;
    std::atomic<int> answered_ok{0};
    for (int i = 0; i < 50; ++i)
        storm.emplace_back([&] {
            if (post_sent_receipt(v.port(), whsec, failure).status == 200) ++answered_ok;
        });
    for (auto& thread : storm) thread.join();
    CHECK(answered_ok == 50);

    require_done(fake.wait_for_executions(message_id + "-sms", 1, seconds(5)), v,
                 "the SMS fallback to be accepted");
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(json_at(delivery, "/fallback_reason") == "recipient_not_capable");
    std::this_thread::sleep_for(milliseconds(500));
    const auto sms = fake.requests_with_key(message_id + "-sms");
    REQUIRE(sms.size() == 1);
    CHECK(sms[0].channel() == "sms");
    CHECK(sms[0].code() == fake.requests_with_key(message_id)[0].code());

    // The SMS's own receipt delivers it; a late WhatsApp receipt changes nothing.
    require_success(post_sent_receipt(
        v.port(), whsec, sent_status_event(sms[0].provider_message_id(), "DELIVERED", "sms")));
    CHECK(require_success(
              post_sent_receipt(v.port(), whsec,
                                sent_status_event(sent["provider_id"], "DELIVERED", "whatsapp")))
              .value("outcome", "") == "ignored");
    delivery = delivery_of(v, kLiveA, sent["id"]);
    CHECK(delivery.value("status", "") == "delivered");
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(fake.executions(message_id + "-sms") == 1);
    json checked = require_success(v.check(v.key(kLiveA), sent["id"], sms[0].code()));
    CHECK(checked.value("status", "") == "approved");
}

TEST_CASE("a WhatsApp failure receipt after the verification ended sends no SMS") {
    const std::string whsec = new_sent_webhook_secret();
    FakeProvider fake;
    VerifydInstance v(sent_with_receipts(fake, whsec));
    json sent = send_accepted(v, fake, us_number(41601),
                              {{"channel", "whatsapp"}, {"fallback", "sms"}}, "whatsapp");
    require_success(v.cancel(v.key(kLiveA), sent["id"]));
    json answer = require_success(post_sent_receipt(
        v.port(), whsec,
        sent_status_event(sent["provider_id"], "FAILED", "whatsapp", "CHANNEL_UNAVAILABLE")));
    CHECK(answer.value("outcome", "") == "failed");
    std::this_thread::sleep_for(milliseconds(600));
    CHECK(fake.requests_with_key(sent["message_id"].get<std::string>() + "-sms").empty());
}

TEST_CASE("the webhook provider's receipts, signed like verifyd's webhook, move its messages") {
    const std::string secret = "receipt_secret_0123456789";
    FakeProvider fake;
    VerifydInstance v(webhook_provider(fake, secret));
    json sent = v.send_ok(v.key(kLiveA), us_number(41701));
    v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    const json body = {
        {"message_id", sent["message_id"]}, {"status", "delivered"}, {"channel", "sms"}};

    require_error(post_delivery_receipt(v.port(), "another_secret_0123456789", body), 401, 4011);
    require_error(post_delivery_receipt(v.port(), secret, body, -320), 401, 4011);
    {
        HttpClient client(v.port());
        require_error(
            client.post("/webhooks/delivery", {{"Content-Type", "application/json"}}, body.dump()),
            401, 4010);
    }
    json missing_channel = body;
    missing_channel.erase("channel");
    json refused =
        require_error(post_delivery_receipt(v.port(), secret, missing_channel), 400, 4000);
    CHECK_FALSE(require_detail(refused, "channel").empty());
    CHECK(delivery_of(v, kLiveA, sent["id"]).value("status", "") == "sent");

    CHECK(require_success(post_delivery_receipt(v.port(), secret, body)).value("outcome", "") ==
          "delivered");
    json delivery = delivery_of(v, kLiveA, sent["id"]);
    CHECK(delivery.value("status", "") == "delivered");
    CHECK(json_at(delivery, "/delivered_at").is_string());
    // An unknown message id changes nothing and answers 200.
    json unknown = body;
    unknown["message_id"] = "msg_unknown";
    CHECK(require_success(post_delivery_receipt(v.port(), secret, unknown)).value("outcome", "") ==
          "unknown");
}
