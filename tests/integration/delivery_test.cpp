// Durable delivery of live sends through the Sent API (§7): the
// send answers at once and a delivery thread posts the documented request to a fake Sent
// API; retries keep one Idempotency-Key and honour Retry-After; refusals and exhausted
// attempts fail the message; outages, a SIGKILLed verifyd and two replicas deliver every
// code exactly once; jobs of expired, canceled or superseded verifications are dropped;
// nothing readable is left in Redis. Not for: WhatsApp fallback (fallback_test.cpp), the
// webhook provider (webhook_test.cpp) or message bodies (templates_test.cpp).
#include <catch2/catch.hpp>
#include <csignal>
#include <regex>
#include <set>
#include <thread>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::regex kSixDigits("[0-9]{6}");

std::string sent_api_key() {
    return "sent_key_" + random_hex(16);
}

// Every message id of `sends` has exactly one execution at the fake, every request for it
// carries the same code, that code approves its verification, and (with `only_these`)
// the fake saw no request for any other message.
void require_each_delivered_once(VerifydInstance& v, const FakeProvider& fake,
                                 const std::vector<json>& sends, bool only_these = true) {
    const auto executions = fake.executions();
    for (const auto& sent : sends) {
        const std::string message_id = sent["message_id"];
        INFO("message " << message_id);
        auto found = executions.find(message_id);
        CHECK((found == executions.end() ? 0 : found->second) == 1);
        const auto requests = fake.requests_with_key(message_id);
        REQUIRE_FALSE(requests.empty());
        std::set<std::string> codes;
        for (const auto& request : requests) {
            codes.insert(request.code());
        }
        REQUIRE(codes.size() == 1);
        const std::string code = *codes.begin();
        CHECK(std::regex_match(code, kSixDigits));
        json checked = require_success(v.check(v.key(kLiveA), sent["id"], code));
        CHECK(checked.value("status", "") == "approved");
    }
    if (!only_these) {
        return;
    }
    std::set<std::string> expected;
    for (const auto& sent : sends) {
        expected.insert(sent["message_id"].get<std::string>());
    }
    for (const auto& request : fake.requests()) {
        INFO("Idempotency-Key " << request.idempotency_key());
        CHECK(expected.count(request.idempotency_key()) == 1);
    }
}

// Sends `count` live codes to distinct numbers starting at `first_number`.
std::vector<json> send_many(VerifydInstance& v, int count, int first_number) {
    std::vector<json> sends;
    for (int i = 0; i < count; ++i) {
        sends.push_back(v.send_ok(v.key(kLiveA), us_number(first_number + i)));
    }
    return sends;
}
}  // namespace

TEST_CASE("a live send answers pending at once and the Sent API gets the documented request once") {
    FakeProvider fake;
    const std::string api_key = sent_api_key();
    VerifydInstance v(
        merged(sent_provider(fake, api_key), {{"VERIFYD_SENT_TEMPLATE", "login_code"},
                                              {"VERIFYD_APP_NAME", "Acme Shop"},
                                              {"VERIFYD_DELIVERY_TIMEOUT_MS", "5000"},
                                              {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "10000"}}));
    fake.set_default(Reply::held(Reply::ok()));
    const std::string to = us_number(20001);

    const auto start = Clock::now();
    HttpResponse response = v.send(
        v.key(kLiveA),
        {{"to", to},
         {"template", {{"name", "login"}, {"variables", {{"shop", "Acme"}, {"count", 3}}}}}});
    const auto took = Clock::now() - start;
    json data = require_success(response, 201);
    CHECK(took < seconds(1));
    CHECK(data.value("status", "") == "pending");
    CHECK(data["sandbox"] == false);
    const std::string id = data["id"];
    const std::string message_id = data["message_id"];

    // The provider holds the request: the delivery is queued.
    require_done(fake.wait_for_held(1, seconds(5)), v, "the provider to hold 1 request");
    json queued = delivery_of(v, kLiveA, id);
    CHECK(queued.value("status", "") == "queued");
    CHECK(queued.value("channel", "") == "sms");
    CHECK(json_at(queued, "/fallback_reason").is_null());
    CHECK(json_at(queued, "/error").is_null());
    CHECK(read_message(v, v.key(kLiveA), message_id).value("status", "") == "queued");

    fake.release();
    json delivery = v.wait_for_delivery(v.key(kLiveA), id, "sent");
    CHECK(delivery.value("status", "") == "sent");
    CHECK(delivery.value("channel", "") == "sms");
    CHECK(json_at(delivery, "/fallback_reason").is_null());
    CHECK(json_at(delivery, "/error").is_null());
    CHECK(wait_for_message_status(v, v.key(kLiveA), message_id, "sent") == "sent");

    std::this_thread::sleep_for(milliseconds(300));
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 1);
    const RecordedRequest& request = requests[0];
    INFO("request body: " << request.body);
    CHECK(request.method == "POST");
    CHECK(request.target == "/v3/messages");
    CHECK(request.header("x-api-key").value_or("") == api_key);
    CHECK(request.idempotency_key() == message_id);
    CHECK(request.header("Content-Type").value_or("").rfind("application/json", 0) == 0);
    CHECK(request.executed);
    CHECK(fake.executions(message_id) == 1);
    REQUIRE(request.json.is_object());
    CHECK(json_at(request.json, "/to") == json::array({to}));
    CHECK(json_at(request.json, "/channel") == json::array({"sms"}));
    CHECK(json_at(request.json, "/template/name") == "login_code");
    const json parameters = json_at(request.json, "/template/parameters");
    REQUIRE(parameters.is_object());
    const std::string code = request.code();
    CHECK(std::regex_match(code, kSixDigits));
    CHECK(json_at(parameters, "/app_name") == "Acme Shop");
    CHECK(json_at(parameters, "/ttl_minutes") == 10);
    CHECK(json_at(parameters, "/shop") == "Acme");
    CHECK((json_at(parameters, "/count") == 3 || json_at(parameters, "/count") == "3"));
    CHECK_FALSE(request.json.contains("sender_profile_id"));

    HttpResponse read = v.get_verification(v.key(kLiveA), id);
    CHECK(read.body.find(code) == std::string::npos);
    json approved = require_success(v.check(v.key(kLiveA), id, code));
    CHECK(approved.value("status", "") == "approved");
}

TEST_CASE("sender_profile_id is sent when set, with the default template and the channel asked") {
    FakeProvider fake;
    VerifydInstance v(merged(sent_provider(fake, sent_api_key()),
                             {{"VERIFYD_SENT_SENDER_PROFILE_ID", "sp_0042"}}));
    json sent = v.send_ok(v.key(kLiveA), us_number(20101), {{"channel", "whatsapp"}});
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v,
                 "the message to be delivered");
    const auto requests = fake.requests_with_key(message_id);
    REQUIRE(requests.size() == 1);
    INFO("request body: " << requests[0].body);
    CHECK(json_at(requests[0].json, "/sender_profile_id") == "sp_0042");
    CHECK(json_at(requests[0].json, "/channel") == json::array({"whatsapp"}));
    CHECK(json_at(requests[0].json, "/template/name") == "verify_otp");
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    CHECK(delivery.value("status", "") == "sent");
    CHECK(delivery.value("channel", "") == "whatsapp");
}

TEST_CASE("three 500s and then success deliver once, every attempt with the same key and code") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    fake.queue(Reply::server_error(500), 3);
    json sent = v.send_ok(v.key(kLiveA), us_number(20201));
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v,
                 "the message to be delivered");
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");
    CHECK(delivery.value("status", "") == "sent");

    std::this_thread::sleep_for(milliseconds(300));
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 4);
    for (const auto& request : requests) {
        CHECK(request.idempotency_key() == message_id);
        CHECK(request.code() == requests[0].code());
    }
    CHECK(requests[0].answered_status == 500);
    CHECK(requests[3].answered_status == 200);
    CHECK(fake.executions(message_id) == 1);
    require_each_delivered_once(v, fake, {sent});
}

TEST_CASE("408, 409 and 502 answers are retried under the same key until one succeeds") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    fake.queue(Reply::sent_error(408, "REQUEST_TIMEOUT", "timed out"));
    fake.queue(Reply::sent_error(409, "IDEMPOTENCY_IN_PROGRESS", "in progress"));
    fake.queue(Reply::server_error(502));
    json sent = v.send_ok(v.key(kLiveA), us_number(20251));
    require_done(fake.wait_for_executions(sent["message_id"], 1, seconds(5)), v,
                 "the message to be delivered");
    std::this_thread::sleep_for(milliseconds(300));
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 4);
    CHECK(requests[0].answered_status == 408);
    CHECK(requests[1].answered_status == 409);
    CHECK(requests[2].answered_status == 502);
    CHECK(requests[3].answered_status == 200);
    for (const auto& request : requests) {
        CHECK(request.idempotency_key() == sent["message_id"]);
    }
    CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
}

TEST_CASE("a provider call that outlasts VERIFYD_DELIVERY_TIMEOUT_MS is retried and sent once") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    fake.queue(Reply::hang());
    json sent = v.send_ok(v.key(kLiveA), us_number(20261));
    require_done(fake.wait_for_executions(sent["message_id"], 1, seconds(6)), v,
                 "the message to be delivered");
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].answered_status == 0);
    const auto gap =
        std::chrono::duration_cast<milliseconds>(requests[1].received - requests[0].received);
    INFO("second attempt after " << gap.count() << " ms");
    // The first call is given up after 800 ms, then retried after a short backoff (not at
    // once, as after a refused connection); the margin absorbs the fake's own scheduling.
    CHECK(gap >= milliseconds(600));
    CHECK(gap < milliseconds(3000));
    CHECK(requests[1].idempotency_key() == requests[0].idempotency_key());
    CHECK(requests[1].code() == requests[0].code());
    CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
}

TEST_CASE("sandbox sends never reach the provider, whichever key makes them") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    json test_key = v.send_ok(v.key(kTestA), us_number(20271));
    json asked = v.send_ok(v.key(kLiveA), us_number(20272), {{"sandbox", true}});
    json live = v.send_ok(v.key(kLiveA), us_number(20273));
    require_done(fake.wait_for_executions(live["message_id"], 1, seconds(5)), v,
                 "the live message to be delivered");
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(fake.request_count() == 1);
    for (const auto& [key, sent] : {std::pair<std::string, json>{kTestA, test_key},
                                    std::pair<std::string, json>{kLiveA, asked}}) {
        // A live key sees its sandbox verifications only when it asks for sandbox.
        const std::string sandbox = "?sandbox=true";
        json read = require_success(
            v.get_verification(v.key(key), sent["id"].get<std::string>() + sandbox));
        CHECK(is_sandbox_delivery(read["delivery"].value("status", "")));
        CHECK(is_sandbox_delivery(
            read_message(v, v.key(key), sent["message_id"].get<std::string>() + sandbox)
                .value("status", "")));
    }
}

TEST_CASE("after a 429 with Retry-After: 1 the next attempt comes no sooner than a second later") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    fake.queue(Reply::too_many_requests(1));
    json sent = v.send_ok(v.key(kLiveA), us_number(20301));
    require_done(fake.wait_for_executions(sent["message_id"], 1, seconds(5)), v,
                 "the message to be delivered");
    const auto requests = fake.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].answered_status == 429);
    const auto gap =
        std::chrono::duration_cast<milliseconds>(requests[1].received - requests[0].received);
    INFO("second attempt after " << gap.count() << " ms");
    // The backoff alone would retry after 25-50 ms; Retry-After asks for a second.
    CHECK(gap >= milliseconds(950));
    CHECK(gap < milliseconds(3000));
    CHECK(requests[1].idempotency_key() == requests[0].idempotency_key());
    CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
}

TEST_CASE("a 400 from the Sent API fails the message at once and shows the provider's error") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    fake.set_default(
        Reply::sent_error(400, "VALIDATION_002", "The phone number is not reachable by SMS"));
    json sent = v.send_ok(v.key(kLiveA), us_number(20401));
    const std::string message_id = sent["message_id"];
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    CHECK(delivery.value("channel", "") == "sms");
    REQUIRE(json_at(delivery, "/error").is_string());
    CHECK(delivery["error"].get<std::string>().find("not reachable by SMS") != std::string::npos);
    CHECK(json_at(delivery, "/fallback_reason").is_null());
    CHECK(wait_for_message_status(v, v.key(kLiveA), message_id, "failed") == "failed");

    // Not retried: a second look a while later finds the one request.
    std::this_thread::sleep_for(milliseconds(700));
    CHECK(fake.request_count() == 1);
    CHECK(fake.executions(message_id) == 0);
    // The verification itself stays pending: the code was never delivered, not spent.
    CHECK(require_success(v.get_verification(v.key(kLiveA), sent["id"])).value("status", "") ==
          "pending");
}

TEST_CASE("after VERIFYD_DELIVERY_MAX_ATTEMPTS failed calls the message fails with the error") {
    FakeProvider fake;
    VerifydInstance v(
        merged(sent_provider(fake, sent_api_key()), {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "3"}}));
    fake.set_default(Reply::server_error(503));
    json sent = v.send_ok(v.key(kLiveA), us_number(20501));
    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    REQUIRE(json_at(delivery, "/error").is_string());
    const std::string error = delivery["error"];
    CHECK((error.find("failed on purpose") != std::string::npos ||
           error.find("INTERNAL_ERROR") != std::string::npos));
    std::this_thread::sleep_for(milliseconds(800));
    CHECK(fake.request_count() == 3);
    CHECK(fake.requests_with_key(sent["message_id"]).size() == 3);
    CHECK(wait_for_message_status(v, v.key(kLiveA), sent["message_id"], "failed") == "failed");
}

TEST_CASE("an outage of three seconds delays twenty queued codes and then delivers each once") {
    FakeProvider fake;
    VerifydInstance v(
        merged(sent_provider(fake, sent_api_key()), {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "60"}}));
    fake.set_default(Reply::server_error(503));
    const auto outage_start = Clock::now();
    const std::vector<json> sends = send_many(v, 20, 21001);
    CHECK(fake.executions().empty());
    std::this_thread::sleep_until(outage_start + seconds(3));
    CHECK(fake.executions().empty());
    for (const auto& sent : sends) {
        CHECK(delivery_of(v, kLiveA, sent["id"]).value("status", "") == "queued");
    }
    fake.set_default(Reply::ok());

    require_done(fake.wait_for_executed_keys(sends.size(), seconds(15)), v,
                 "every message to be delivered");
    std::this_thread::sleep_for(milliseconds(500));
    require_each_delivered_once(v, fake, sends);
    for (const auto& sent : sends) {
        CHECK(wait_for_message_status(v, v.key(kLiveA), sent["message_id"], "sent") == "sent");
    }
}

TEST_CASE("jobs held by a SIGKILLed verifyd are delivered after its restart, none twice") {
    FakeProvider fake;
    // Provider calls that outlast the kill, so that jobs are in flight when it comes.
    VerifydInstance v(
        merged(sent_provider(fake, sent_api_key()), {{"VERIFYD_DELIVERY_TIMEOUT_MS", "3000"},
                                                     {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "3600"},
                                                     {"VERIFYD_DELIVERY_MAX_ATTEMPTS", "30"}}));
    fake.set_default(Reply::hang());
    const std::vector<json> sends = send_many(v, 6, 22001);
    require_done(fake.wait_for_held(1, seconds(5)), v, "the provider to hold a request");

    ExitStatus killed = v.kill();
    CHECK(killed.signal == SIGKILL);
    fake.set_default(Reply::ok());
    fake.release();
    CHECK(fake.executions().empty());

    v.restart();
    require_done(fake.wait_for_executed_keys(sends.size(), seconds(15)), v,
                 "every message to be delivered");
    std::this_thread::sleep_for(milliseconds(500));
    require_each_delivered_once(v, fake, sends);
    for (const auto& sent : sends) {
        CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
    }
}

TEST_CASE("jobs held by a replica that died are claimed by another after the claim idle time") {
    FakeProvider fake;
    VerifydInstance v(
        merged(sent_provider(fake, sent_api_key()), {{"VERIFYD_DELIVERY_TIMEOUT_MS", "3000"},
                                                     {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "3600"},
                                                     {"VERIFYD_DELIVERY_MAX_ATTEMPTS", "30"}}));
    fake.set_default(Reply::hang());
    const std::vector<json> sends = send_many(v, 4, 22101);
    require_done(fake.wait_for_held(1, seconds(5)), v, "the provider to hold a request");
    const int replica_port = v.start_replica();
    const auto killed_at = Clock::now();
    CHECK(v.kill().signal == SIGKILL);
    fake.set_default(Reply::ok());
    fake.release();

    // Only the replica is left to deliver, the jobs the dead one held included.
    require_done(fake.wait_for_executed_keys(sends.size(), seconds(15)), v,
                 "every message to be delivered by the replica");
    const auto delivered_at = Clock::now();
    {
        // The replica counts a delivery after it has read the provider's answer and
        // recorded it: a moment after the provider saw the request.
        HttpClient replica(replica_port);
        const auto sent = [&] {
            return metric_value(replica.get("/metrics").body, "verifyd_deliveries_total",
                                {{"outcome", "sent"}});
        };
        const double expected = static_cast<double>(sends.size());
        wait_until([&] { return sent() == expected; }, seconds(5));
        CHECK(sent() == expected);
    }
    // The job in flight at the kill waited for the claim idle time, not for ever.
    CHECK(delivered_at - killed_at < seconds(10));
    v.restart();
    require_each_delivered_once(v, fake, sends);
}

TEST_CASE("two replicas sharing one queue deliver each of thirty sends exactly once") {
    FakeProvider fake;
    VerifydInstance v(sent_provider(fake, sent_api_key()));
    const int replica_port = v.start_replica();
    HttpClient replica(replica_port);
    std::vector<json> sends;
    for (int i = 0; i < 30; ++i) {
        const std::string to = us_number(23001 + i);
        if (i % 2 == 0) {
            sends.push_back(v.send_ok(v.key(kLiveA), to));
        } else {
            HttpResponse response = post_json(replica, "/verify/send", v.key(kLiveA), {{"to", to}});
            sends.push_back(require_success(response, 201));
        }
    }
    require_done(fake.wait_for_executed_keys(sends.size(), seconds(10)), v,
                 "every message to be delivered");
    std::this_thread::sleep_for(milliseconds(500));
    require_each_delivered_once(v, fake, sends);
    // No failure happened, so no job was taken twice: one request per message.
    CHECK(fake.request_count() == sends.size());

    // Between them the two replicas count thirty deliveries.
    const auto delivered = [&] {
        double count = 0;
        for (int port : {v.port(), replica_port}) {
            HttpClient client(port);
            count += metric_value(client.get("/metrics").body, "verifyd_deliveries_total",
                                  {{"outcome", "sent"}})
                         .value_or(0);
        }
        return count;
    };
    wait_until([&] { return delivered() == 30; }, seconds(5));
    CHECK(delivered() == 30);
}

TEST_CASE("live codes are stored sealed and no job is left in Redis once delivered") {
    FakeProvider fake;
    VerifydInstance v(merged(
        sent_provider(fake, sent_api_key()),
        {{"VERIFYD_DELIVERY_TIMEOUT_MS", "5000"}, {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "10000"}}));
    fake.set_default(Reply::held(Reply::ok()));
    std::vector<json> sends;
    for (int i = 0; i < 4; ++i) {
        sends.push_back(v.send_ok(v.key(kLiveA), us_number(24001 + i), {{"code_length", 10}}));
    }
    // A job is in flight (its code is at the fake), the others wait in the queue.
    require_done(fake.wait_for_held(1, seconds(5)), v, "the provider to hold a request");
    std::vector<std::string> codes;
    for (const auto& request : fake.requests()) {
        codes.push_back(request.code());
    }
    auto require_no_code = [&](const std::vector<std::string>& codes_to_find) {
        for (const auto& entry : v.redis().dump()) {
            INFO("key " << entry.key << " (" << entry.type << ")");
            for (const auto& code : codes_to_find) {
                REQUIRE(code.size() == 10);
                CHECK(entry.key.find(code) == std::string::npos);
                for (const auto& value : entry.values) {
                    CHECK(value.find(code) == std::string::npos);
                }
            }
        }
    };
    require_no_code(codes);

    fake.set_default(Reply::ok());
    fake.release();
    require_done(fake.wait_for_executed_keys(sends.size(), seconds(10)), v,
                 "every message to be delivered");
    for (const auto& sent : sends) {
        CHECK(v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent").value("status", "") == "sent");
    }
    codes.clear();
    for (const auto& request : fake.requests()) {
        codes.push_back(request.code());
    }
    require_no_code(codes);

    // Everything but the delivery stream expires; the stream holds no entry and no
    // entry pending in any group.
    for (const auto& entry : v.redis().dump()) {
        INFO("key " << entry.key << " (" << entry.type << ") TTL " << entry.ttl_ms);
        // The number key lives as long as the deployment (number_key.hpp).
        if (entry.ttl_ms > 0 || entry.key == "{verifyd}:number-key") {
            continue;
        }
        REQUIRE(entry.type == "stream");
        CHECK(v.redis().command({"XLEN", entry.key}).integer == 0);
        RedisValue groups = v.redis().command({"XINFO", "GROUPS", entry.key});
        for (const auto& group : groups.elements) {
            for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
                if (group.elements[i].str == "pending") {
                    CHECK(group.elements[i + 1].integer == 0);
                }
            }
        }
    }
    for (const auto& sent : sends) {
        const std::string code = fake.requests_with_key(sent["message_id"]).at(0).code();
        CHECK(require_success(v.check(v.key(kLiveA), sent["id"], code)).value("verified", false));
    }
}

// The provider fails until the job is dropped, so that an attempt that passed its check
// just before the verification ended cannot deliver it; afterwards it would accept, and no
// further attempt comes.
static void require_no_attempt_after_drop(FakeProvider& fake) {
    const size_t calls = fake.requests().size();
    fake.set_default(Reply::ok());
    std::this_thread::sleep_for(milliseconds(800));
    CHECK(fake.requests().size() == calls);
    CHECK(fake.executions().empty());
}

TEST_CASE("a job whose verification expired before delivery is dropped, not sent") {
    FakeProvider fake;
    VerifydInstance v(merged(sent_provider(fake, sent_api_key()),
                             {{"VERIFYD_CODE_TTL", "1"}, {"VERIFYD_DELIVERY_MAX_ATTEMPTS", "60"}}));
    fake.set_default(Reply::server_error(500));
    json sent = v.send_ok(v.key(kLiveA), us_number(25001));

    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    REQUIRE(json_at(delivery, "/error").is_string());
    CHECK(delivery["error"].get<std::string>().find("expire") != std::string::npos);
    require_no_attempt_after_drop(fake);
    CHECK(wait_for_message_status(v, v.key(kLiveA), sent["message_id"], "failed") == "failed");
}

TEST_CASE("a job whose verification was canceled before delivery is dropped, not sent") {
    FakeProvider fake;
    VerifydInstance v(
        merged(sent_provider(fake, sent_api_key()), {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "60"}}));
    fake.set_default(Reply::server_error(500));
    json sent = v.send_ok(v.key(kLiveA), us_number(25101));
    require_done(fake.wait_for_requests(1, seconds(5)), v, "the first provider call");
    require_success(v.cancel(v.key(kLiveA), sent["id"]));

    json delivery = v.wait_for_delivery(v.key(kLiveA), sent["id"], "failed");
    INFO("delivery: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    REQUIRE(json_at(delivery, "/error").is_string());
    CHECK(delivery["error"].get<std::string>().find("cancel") != std::string::npos);
    require_no_attempt_after_drop(fake);
}

TEST_CASE("a job superseded by a newer send to the number is dropped and the newer delivered") {
    FakeProvider fake;
    VerifydInstance v(
        merged(sent_provider(fake, sent_api_key()),
               {{"VERIFYD_DELIVERY_MAX_ATTEMPTS", "60"}, {"VERIFYD_RESEND_COOLDOWN", "0"}}));
    fake.set_default(Reply::server_error(500));
    const std::string to = us_number(25201);
    json first = v.send_ok(v.key(kLiveA), to);
    require_done(fake.wait_for_requests(1, seconds(2)), v, "the first provider call");
    json second = v.send_ok(v.key(kLiveA), to);
    // The provider fails until the first job is dropped, so that a call for it that passed
    // its check just before the second send cannot deliver it.
    CHECK(wait_for_message_status(v, v.key(kLiveA), first["message_id"], "failed") == "failed");
    fake.set_default(Reply::ok());

    require_done(fake.wait_for_executions(second["message_id"], 1, seconds(5)), v,
                 "the message to be delivered");
    json delivery = delivery_of(v, kLiveA, first["id"]);
    INFO("delivery of the superseded send: " << delivery.dump());
    CHECK(delivery.value("status", "") == "failed");
    REQUIRE(json_at(delivery, "/error").is_string());
    CHECK(delivery["error"].get<std::string>().find("supersed") != std::string::npos);
    std::this_thread::sleep_for(milliseconds(500));
    CHECK(fake.executions(first["message_id"]) == 0);
    require_each_delivered_once(v, fake, {second}, false);
}
