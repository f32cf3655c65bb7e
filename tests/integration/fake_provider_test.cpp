// Self-tests of the fake Sent API (support/fake_provider.hpp) that the delivery tests
// rely on: its script, its idempotency rules (§7), its holds and its signature check.
// Not for: verifyd's behaviour; no verifyd runs here.
#include "support/fake_provider.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "support/http_client.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

HttpResponse post_message(HttpClient& client, const std::string& key,
                          const std::string& channel = "sms") {
    Headers headers = {{"Content-Type", "application/json"}};
    if (!key.empty()) {
        headers.emplace_back("Idempotency-Key", key);
    }
    json body = {{"to", {"+14155550100"}},
                 {"channel", {channel}},
                 {"template", {{"name", "verify_otp"}, {"parameters", {{"code", "123456"}}}}}};
    return client.post("/v3/messages", headers, body.dump());
}

}  // namespace

TEST_CASE("the fake Sent API replays a final answer and executes again after a 5xx or 429") {
    FakeProvider fake;
    HttpClient client(fake.port());
    fake.queue(Reply::server_error(503));
    fake.queue(Reply::too_many_requests(2));

    CHECK(post_message(client, "k1").status == 503);
    HttpResponse limited = post_message(client, "k1");
    CHECK(limited.status == 429);
    CHECK(limited.header("Retry-After").value_or("") == "2");
    CHECK(fake.executions("k1") == 0);

    HttpResponse first = post_message(client, "k1");
    REQUIRE(first.status == 200);
    CHECK(first.json()["data"]["id"].get<std::string>().rfind("sent_", 0) == 0);
    CHECK(fake.executions("k1") == 1);

    // A replay even though the script now refuses everything.
    fake.set_default(Reply::sent_error(400, "VALIDATION_001", "bad"));
    HttpResponse again = post_message(client, "k1");
    CHECK(again.status == 200);
    CHECK(again.body == first.body);
    CHECK(fake.executions("k1") == 1);

    // A final refusal is replayed too, and is no execution.
    CHECK(post_message(client, "k2").status == 400);
    fake.set_default(Reply::ok());
    CHECK(post_message(client, "k2").status == 400);
    CHECK(fake.executions("k2") == 0);

    const auto recorded = fake.requests();
    REQUIRE(recorded.size() == 6);
    CHECK(recorded[3].replayed);
    CHECK_FALSE(recorded[2].replayed);
    CHECK(recorded[2].executed);
    CHECK(recorded[0].code() == "123456");
    CHECK(recorded[0].channel() == "sms");
    CHECK(recorded[0].target == "/v3/messages");
}

TEST_CASE("the fake answers per channel, queued replies first") {
    FakeProvider fake;
    HttpClient client(fake.port());
    fake.set_channel("whatsapp", Reply::sent_error(400, "BUSINESS_007", "not on WhatsApp"));
    fake.queue(Reply::server_error(500), 1, "sms");
    CHECK(post_message(client, "a", "whatsapp").status == 400);
    CHECK(post_message(client, "b", "sms").status == 500);
    CHECK(post_message(client, "b", "sms").status == 200);
    CHECK(post_message(client, "c", "whatsapp").status == 400);
    CHECK(fake.executions() == std::map<std::string, int>{{"b", 1}});
}

TEST_CASE("a held request is answered on release and a hang is never answered") {
    FakeProvider fake;
    fake.set_default(Reply::held(Reply::ok()));
    HttpResponse answer;
    std::thread sender([&] {
        HttpClient client(fake.port(), std::chrono::seconds(5));
        answer = post_message(client, "held");
    });
    REQUIRE(fake.wait_for_held(1, std::chrono::seconds(2)));
    CHECK(fake.executions("held") == 0);
    fake.release();
    sender.join();
    CHECK(answer.status == 200);
    CHECK(fake.executions("held") == 1);

    fake.set_default(Reply::hang());
    HttpClient impatient(fake.port(), std::chrono::milliseconds(300));
    CHECK_THROWS_AS(post_message(impatient, "hung"), HttpError);
    impatient.close();
    // The fake notices the client left and forgets the hold.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (fake.held_now() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(fake.held_now() == 0);
    fake.set_default(Reply::ok());
    HttpClient retry(fake.port());
    CHECK(post_message(retry, "hung").status == 200);
    CHECK(fake.executions("hung") == 1);
}

TEST_CASE("a second request with a key in progress answers 409") {
    FakeProvider fake;
    fake.set_default(Reply::held(Reply::ok()));
    std::thread first([&] {
        HttpClient client(fake.port(), std::chrono::seconds(5));
        post_message(client, "same");
    });
    REQUIRE(fake.wait_for_held(1, std::chrono::seconds(2)));
    HttpClient second(fake.port());
    CHECK(post_message(second, "same").status == 409);
    fake.release();
    first.join();
    CHECK(fake.executions("same") == 1);
}

TEST_CASE("the fake's signature check accepts the documented scheme and nothing else") {
    const std::string secret = "whsec_0123456789abcdef";
    const std::string body = R"({"type":"verification.message"})";
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const std::string t = std::to_string(now);
    const std::string header =
        "t=" + t + ",v1=" + FakeProvider::hmac_sha256_hex(secret, t + "." + body);
    CHECK(FakeProvider::signature_valid(secret, header, body));
    CHECK_FALSE(FakeProvider::signature_valid(secret, header, body + " "));
    CHECK_FALSE(FakeProvider::signature_valid("another secret, long", header, body));
    const std::string old = std::to_string(now - 3600);
    CHECK_FALSE(FakeProvider::signature_valid(
        secret, "t=" + old + ",v1=" + FakeProvider::hmac_sha256_hex(secret, old + "." + body),
        body));
    // RFC 4231 test case 2.
    CHECK(FakeProvider::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
