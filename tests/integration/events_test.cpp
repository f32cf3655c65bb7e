// Verification events (VERIFYD_EVENTS_URL): one signed POST per state change, under an
// Idempotency-Key that is the event's id, in order per verification, durable across
// restarts and a dead endpoint, shared by replicas; never carrying a live code. Not
// for: what a receipt changes (receipts_test.cpp) or the sandbox's simulated delivery
// (sandbox_delivery_test.cpp).
#include <catch2/catch.hpp>
#include <map>
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

const std::string kEventsSecret = "events_secret_0123456789";

Settings with_events(const FakeProvider& receiver, const Settings& more = {}) {
    return merged(merged(fast_delivery(), {{"VERIFYD_EVENTS_URL", receiver.url("/events")},
                                           {"VERIFYD_EVENTS_SECRET", kEventsSecret}}),
                  more);
}

// The events among `requests` that the receiver accepted, in the order it accepted them
// (each id once).
std::vector<json> accepted_events(const std::vector<RecordedRequest>& requests) {
    std::vector<json> events;
    for (const auto& request : requests)
        if (request.executed) events.push_back(request.json);
    return events;
}

std::vector<json> accepted_events(const FakeProvider& receiver) {
    return accepted_events(receiver.requests());
}

// The accepted events about one verification (or its message) whose type starts with
// `kind`, in order: their types, or for message.status their messages' statuses.
std::vector<std::string> events_for(const std::vector<RecordedRequest>& requests,
                                    const std::string& verification_id, const std::string& kind) {
    std::vector<std::string> seen;
    for (const json& event : accepted_events(requests)) {
        const json& data = event["data"];
        const std::string type = event.value("type", "");
        if (type.rfind(kind, 0) != 0) continue;
        if (data.value("id", "") == verification_id ||
            data.value("verification_id", "") == verification_id)
            seen.push_back(type == "message.status" ? data.value("status", "") : type);
    }
    return seen;
}

std::vector<std::string> events_for(const FakeProvider& receiver,
                                    const std::string& verification_id, const std::string& kind) {
    return events_for(receiver.requests(), verification_id, kind);
}

// Waits until the receiver has accepted as many events about `verification_id` of
// `kind` as expected, then requires exactly those, in that order.
void require_events(VerifydInstance& v, const FakeProvider& receiver,
                    const std::string& verification_id, const std::vector<std::string>& expected,
                    const std::string& kind = "", seconds wait = seconds(8)) {
    // The fake calls this holding its lock: it reads the requests it is given.
    receiver.wait_for(
        [&](const std::vector<RecordedRequest>& requests) {
            return events_for(requests, verification_id, kind).size() >= expected.size();
        },
        wait);
    INFO("verification " << verification_id << ", events " << kind);
    require_done(events_for(receiver, verification_id, kind).size() >= expected.size(), v,
                 "the events of " + verification_id);
    CHECK(events_for(receiver, verification_id, kind) == expected);
}

}  // namespace

TEST_CASE(
    "every state change of a verification is posted once, signed, under its event id, in order") {
    FakeProvider receiver;
    VerifydInstance v(with_events(receiver));
    json sent = v.send_ok(v.key(kLiveA), us_number(43001));
    const std::string id = sent["id"];
    const std::string code = v.live_code_from_log(sent["message_id"]);
    v.wait_for_delivery(v.key(kLiveA), id, "sent");
    const std::string wrong = code == "000000" ? "111111" : "000000";
    require_success(v.check(v.key(kLiveA), id, wrong));
    require_success(v.check(v.key(kLiveA), id, code));

    require_events(v, receiver, id,
                   {"verification.created", "queued", "sent", "verification.attempt_failed",
                    "verification.approved"});
    for (const auto& request : receiver.requests()) {
        if (!request.executed) continue;
        const json& event = request.json;
        INFO("event: " << request.body);
        CHECK(FakeProvider::signature_valid(
            kEventsSecret, request.header("X-Verifyd-Signature").value_or(""), request.body));
        CHECK(request.idempotency_key() == event.value("id", ""));
        CHECK(event.value("id", "").rfind("evt_", 0) == 0);
        CHECK(is_rfc3339_utc(event.value("created_at", "")));
        CHECK_FALSE(event.value("account", "").empty());
        CHECK(event["sandbox"] == false);
        // A live code is never posted.
        CHECK(request.body.find(code) == std::string::npos);
    }
    const auto events = accepted_events(receiver);
    REQUIRE(events.size() == 5);
    CHECK(events[0]["data"].value("status", "") == "pending");
    CHECK(events[1]["data"].value("id", "") == sent["message_id"]);
    CHECK(events[1]["data"].value("status", "") == "queued");
    CHECK(events[2]["data"].value("status", "") == "sent");
    CHECK(events[3]["data"].value("attempts_remaining", 0) == 4);
    CHECK(events[4]["data"].value("status", "") == "approved");
    CHECK_FALSE(events[0]["data"].contains("template_variables"));
    const std::string metrics = v.get("/metrics").body;
    CHECK(metric_value(metrics, "verifyd_verifications_total",
                       {{"event", "sent"}, {"country", "US"}, {"channel", "sms"}}) == 1.0);
    CHECK(metric_value(metrics, "verifyd_verifications_total",
                       {{"event", "approved"}, {"country", "US"}, {"channel", "sms"}}) == 1.0);
}

TEST_CASE("a fallback is posted as message.status: the message on sms, queued, with its reason") {
    FakeProvider receiver;
    FakeProvider sent_api;
    VerifydInstance v(
        merged(with_events(receiver), sent_provider(sent_api, "sent_key_" + random_hex(16))));
    sent_api.set_channel("whatsapp", Reply::sent_error(400, "BUSINESS_007", "Not on WhatsApp"));
    json sent =
        v.send_ok(v.key(kLiveA), "+447400123456", {{"channel", "whatsapp"}, {"fallback", "sms"}});
    require_events(v, receiver, sent["id"], {"queued", "queued", "sent"}, "message.status");
    std::vector<json> statuses;
    for (const json& event : accepted_events(receiver))
        if (event.value("type", "") == "message.status") statuses.push_back(event["data"]);
    REQUIRE(statuses.size() == 3);
    CHECK(statuses[0].value("channel", "") == "whatsapp");
    CHECK(statuses[1].value("channel", "") == "sms");
    CHECK(statuses[1].value("status", "") == "queued");
    CHECK(json_at(statuses[1], "/fallback_reason") == "recipient_not_capable");
    CHECK(statuses[2].value("channel", "") == "sms");
    CHECK(statuses[2].value("status", "") == "sent");
    // Counted under the channel the send asked for; the fallback says why it happened.
    const std::string metrics = v.get("/metrics").body;
    CHECK(metric_value(metrics, "verifyd_verifications_total",
                       {{"event", "sent"}, {"country", "GB"}, {"channel", "whatsapp"}}) == 1.0);
    CHECK(metric_value(metrics, "verifyd_delivery_failures_total",
                       {{"channel", "whatsapp"},
                        {"outcome", "fallback"},
                        {"reason", "recipient_not_capable"}}) == 1.0);
}

TEST_CASE("locks, cancels and superseded verifications are posted as events too") {
    FakeProvider receiver;
    VerifydInstance v(with_events(receiver, {{"VERIFYD_RESEND_COOLDOWN", "0"}}));
    json locked = v.send_ok(v.key(kTestA), us_number(43101));
    const std::string code = v.sandbox_code(v.key(kTestA), locked["id"]);
    const std::string wrong = code == "000000" ? "111111" : "000000";
    for (int i = 0; i < 5; ++i) require_success(v.check(v.key(kTestA), locked["id"], wrong));
    json first = v.send_ok(v.key(kTestA), us_number(43102));
    json second = v.send_ok(v.key(kTestA), us_number(43102));
    require_success(v.cancel(v.key(kTestA), second["id"]));

    // A sandbox message's own steps come at their times, between the others: each
    // kind is in order by itself.
    require_events(
        v, receiver, locked["id"],
        {"verification.created", "verification.attempt_failed", "verification.attempt_failed",
         "verification.attempt_failed", "verification.attempt_failed", "verification.locked"},
        "verification.");
    require_events(v, receiver, first["id"], {"verification.created", "verification.superseded"},
                   "verification.");
    require_events(v, receiver, second["id"], {"verification.created", "verification.canceled"},
                   "verification.");
    require_events(v, receiver, locked["id"], {"queued", "sent", "delivered"}, "message.status");
    for (const json& event : accepted_events(receiver)) CHECK(event["sandbox"] == true);
}

TEST_CASE("verification.expired is posted within a few seconds of expires_at") {
    FakeProvider receiver;
    VerifydInstance v(with_events(receiver, {{"VERIFYD_CODE_TTL", "2"}}));
    json sent = v.send_ok(v.key(kTestA), us_number(43201));
    json approved = v.send_ok(v.key(kTestA), us_number(43202));
    require_success(
        v.check(v.key(kTestA), approved["id"], v.sandbox_code(v.key(kTestA), approved["id"])));
    require_events(v, receiver, sent["id"], {"verification.created", "verification.expired"},
                   "verification.", seconds(10));
    const auto expires_at = parse_rfc3339_utc(sent["expires_at"]);
    REQUIRE(expires_at);
    for (const auto& request : receiver.requests()) {
        if (!request.executed || request.json.value("type", "") != "verification.expired") continue;
        CHECK(request.json["data"].value("status", "") == "expired");
        CHECK(request.json.value("created_at", "") == sent["expires_at"]);
        CHECK(request.received_unix <= *expires_at + 3);
    }
    // An approved verification does not expire.
    std::this_thread::sleep_for(milliseconds(500));
    CHECK(events_for(receiver, approved["id"], "verification.") ==
          std::vector<std::string>{"verification.created", "verification.approved"});
    CHECK(metric_value(v.get("/metrics").body, "verifyd_verifications_total",
                       {{"event", "expired"}, {"country", "US"}}) == 1.0);
}

TEST_CASE(
    "a dead events endpoint that comes back gets every event, once each, under the same ids") {
    FakeProvider receiver;
    receiver.set_default(Reply::server_error(503));
    VerifydInstance v(with_events(receiver));
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(v.send_ok(v.key(kTestA), us_number(43301 + i))["id"]);
    require_done(receiver.wait_for_requests(4, seconds(5)), v, "failed attempts to post");
    // Events wait in Redis, not in the process: a crash loses none.
    v.kill();
    v.restart();
    for (int i = 3; i < 5; ++i) ids.push_back(v.send_ok(v.key(kTestA), us_number(43301 + i))["id"]);
    const size_t failed_before = receiver.request_count();
    receiver.set_default(Reply::ok());
    // Each sandbox verification: created, then its message queued, sent, delivered.
    require_done(receiver.wait_for_executed_keys(ids.size() * 4, seconds(25)), v,
                 "every event to arrive");
    std::this_thread::sleep_for(milliseconds(500));
    for (const auto& [key, executions] : receiver.executions()) {
        INFO("event " << key);
        CHECK(executions == 1);
    }
    CHECK(receiver.executions().size() == ids.size() * 4);
    // The first event was retried under one id until it arrived.
    const auto first = receiver.requests().front();
    CHECK(receiver.requests_with_key(first.idempotency_key()).size() >= 2);
    CHECK(failed_before >= 4);
    for (const std::string& id : ids)
        CHECK(events_for(receiver, id, "message.status") ==
              std::vector<std::string>{"queued", "sent", "delivered"});
    CHECK(metric_value(v.get("/metrics").body, "verifyd_events_total", {{"outcome", "sent"}})
              .value_or(0) >= 1.0);
}

TEST_CASE("two replicas post each event once, a verification's in order") {
    FakeProvider receiver;
    VerifydInstance v(with_events(receiver));
    const int second = v.start_replica();
    HttpClient other(second);
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) {
        const json body = {{"to", us_number(43401 + i)}};
        HttpResponse sent = i % 2 ? post_json(other, "/verify/send", v.key(kTestA), body)
                                  : v.send(v.key(kTestA), body);
        ids.push_back(require_success(sent, 201)["id"]);
    }
    require_done(receiver.wait_for_executed_keys(ids.size() * 4, seconds(10)), v,
                 "every event to arrive");
    std::this_thread::sleep_for(milliseconds(500));
    CHECK(receiver.executions().size() == ids.size() * 4);
    CHECK(receiver.request_count() == ids.size() * 4);
    for (const std::string& id : ids) {
        CHECK(events_for(receiver, id, "verification.") ==
              std::vector<std::string>{"verification.created"});
        CHECK(events_for(receiver, id, "message.status") ==
              std::vector<std::string>{"queued", "sent", "delivered"});
    }
}
