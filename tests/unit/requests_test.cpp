// Request parsing (requests.hpp): the receipts' bodies, the send's fallback timer and the
// GET /messages query.
#include "verifyd/requests.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using verifyd::SentReceipt;

namespace {

json sent_event(const std::string& status, const json& extra = json::object()) {
    json payload = {{"message_id", "8ba7b830"}, {"message_status", status}, {"channel", "sms"}};
    payload.update(extra);
    return {{"field", "message"}, {"sub_type", "message.x"}, {"payload", payload}};
}

verifyd::ApiSettings api_settings() {
    verifyd::ApiSettings settings;
    settings.code_length = 6;
    settings.code_ttl = 600;
    return settings;
}

}  // namespace

TEST_CASE("Sent's DELIVERED and READ deliver, its final failures fail, acceptance moves nothing") {
    for (const char* status : {"DELIVERED", "READ"})
        CHECK(verifyd::read_sent_receipt(sent_event(status)).move == SentReceipt::Move::Deliver);
    for (const char* status : {"FAILED", "UNDELIVERED", "REJECTED", "EXPIRED", "CANCELED"})
        CHECK(verifyd::read_sent_receipt(sent_event(status)).move == SentReceipt::Move::Fail);
    for (const char* status : {"QUEUED", "ACCEPTED", "SENT", "PROCESSING"})
        CHECK(verifyd::read_sent_receipt(sent_event(status)).move == SentReceipt::Move::None);
    const SentReceipt unknown = verifyd::read_sent_receipt(sent_event("TELEPORTED"));
    CHECK(unknown.move == SentReceipt::Move::Unknown);
    CHECK(unknown.status == "TELEPORTED");
    CHECK(unknown.provider_message_id == "8ba7b830");
}

TEST_CASE("a Sent failure's code is payload.error_code, else payload.error.code") {
    CHECK(verifyd::read_sent_receipt(sent_event("FAILED", {{"error_code", "MESSAGE_FILTERED"}}))
              .error_code == "MESSAGE_FILTERED");
    CHECK(verifyd::read_sent_receipt(
              sent_event("FAILED", {{"error", {{"code", "INSUFFICIENT_BALANCE"}}}}))
              .error_code == "INSUFFICIENT_BALANCE");
    CHECK(verifyd::read_sent_receipt(sent_event("FAILED")).error_code.empty());
}

TEST_CASE("a Sent event about no message, or malformed, names no message") {
    for (const json& body :
         {json::array(), json{{"field", "templates"}, {"payload", {{"status", "APPROVED"}}}},
          json{{"payload", {{"message_id", 42}, {"message_status", "DELIVERED"}}}},
          json{{"payload", {{"message_id", "m"}}}}, json{{"payload", "text"}}}) {
        INFO(body.dump());
        CHECK(verifyd::read_sent_receipt(body).provider_message_id.empty());
    }
}

TEST_CASE("a delivery receipt needs message_id, status delivered or failed, and channel") {
    auto ok = verifyd::parse_delivery_receipt(
        {{"message_id", "msg_x"}, {"status", "failed"}, {"channel", "whatsapp"}, {"error", "E1"}});
    REQUIRE_FALSE(ok.error);
    CHECK(ok.value.status == "failed");
    CHECK(ok.value.channel == "whatsapp");
    CHECK(ok.value.error_code == "E1");
    for (const json& body :
         {json{{"status", "delivered"}, {"channel", "sms"}},
          json{{"message_id", "m"}, {"channel", "sms"}},
          json{{"message_id", "m"}, {"status", "read"}, {"channel", "sms"}},
          json{{"message_id", "m"}, {"status", "delivered"}},
          json{{"message_id", "m"}, {"status", "delivered"}, {"channel", "fax"}},
          json{{"message_id", 1}, {"status", "delivered"}, {"channel", "sms"}}}) {
        INFO(body.dump());
        CHECK(verifyd::parse_delivery_receipt(body).error);
    }
}

TEST_CASE("fallback_after_seconds is 10 to 300 and needs fallback sms") {
    const json base = {{"to", "+14155552671"}, {"channel", "whatsapp"}, {"fallback", "sms"}};
    json body = base;
    body["fallback_after_seconds"] = 45;
    auto parsed = verifyd::parse_send_request(body, api_settings());
    REQUIRE_FALSE(parsed.error);
    CHECK(parsed.value.fallback_after_seconds == 45);
    CHECK(verifyd::parse_send_request(base, api_settings()).value.fallback_after_seconds == 0);
    for (const json& value : {json(9), json(301), json("30"), json(12.5)}) {
        body["fallback_after_seconds"] = value;
        INFO(value.dump());
        CHECK(verifyd::parse_send_request(body, api_settings()).error);
    }
    json without_fallback = {
        {"to", "+14155552671"}, {"channel", "whatsapp"}, {"fallback_after_seconds", 30}};
    CHECK(verifyd::parse_send_request(without_fallback, api_settings()).error);
}

TEST_CASE(
    "a messages query may leave out to, takes since only without it, and refuses an empty to") {
    using Query = std::vector<std::pair<std::string, std::string>>;
    auto inbox = verifyd::parse_list_messages_query(Query{{"since", "msg_x"}, {"limit", "5"}});
    REQUIRE_FALSE(inbox.error);
    CHECK(inbox.value.to.empty());
    CHECK(inbox.value.since == "msg_x");
    CHECK(inbox.value.limit == 5);
    auto number = verifyd::parse_list_messages_query(Query{{"to", "%2B14155552671"}});
    REQUIRE_FALSE(number.error);
    CHECK(number.value.to == "+14155552671");
    auto both =
        verifyd::parse_list_messages_query(Query{{"to", "+14155552671"}, {"since", "msg_x"}});
    REQUIRE(both.error);
    CHECK(both.error->details.count("since") == 1);
    auto empty = verifyd::parse_list_messages_query(Query{{"to", ""}});
    REQUIRE(empty.error);
    CHECK(empty.error->details.count("to") == 1);
}
