// Authentication and scopes (§3): how keys are presented, every 401 and the 403, and
// which endpoints need no key.
#include <catch2/catch.hpp>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

struct Endpoint {
    std::string method;
    std::string path;
    json body;  // for POST
};

// One request of every authenticated kind, about an existing verification.
std::vector<Endpoint> authenticated_endpoints(const json& sent) {
    const std::string id = sent["id"];
    const std::string message = sent["message_id"];
    return {
        {"POST", "/verify/send", {{"to", us_number(5999)}}},
        {"POST", "/verify/check", {{"id", id}, {"code", "123456"}}},
        {"GET", "/verify/" + id, nullptr},
        {"POST", "/verify/" + id + "/cancel", json::object()},
        {"GET", "/messages/" + message, nullptr},
        {"GET", "/v3/messages/" + message, nullptr},
        {"GET", "/messages?to=%2B14155555999", nullptr},
    };
}

HttpResponse call(HttpClient& client, const Endpoint& endpoint, const Headers& headers) {
    if (endpoint.method == "POST") {
        Headers with_type = headers;
        with_type.emplace_back("Content-Type", "application/json");
        return client.post(endpoint.path, with_type, endpoint.body.dump());
    }
    return client.get(endpoint.path, headers);
}

// Every authenticated endpoint answers this error to these credentials.
void require_all_refused(VerifydInstance& v, const json& sent, const Headers& headers,
                         int http_status, int code) {
    HttpClient client = v.client();
    for (const auto& endpoint : authenticated_endpoints(sent)) {
        INFO(endpoint.method << " " << endpoint.path);
        require_error(call(client, endpoint, headers), http_status, code);
    }
}

}  // namespace

TEST_CASE("a request without credentials answers 401 with 4010 and names the Bearer scheme") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(5001));
    require_all_refused(v, sent, {}, 401, 4010);
    const HttpResponse refused = v.get("/verify/" + sent["id"].get<std::string>());
    CHECK(refused.header("WWW-Authenticate") ==
          std::optional<std::string>("Bearer realm=\"verifyd\""));
}

TEST_CASE("a malformed key answers 401 with 4011") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(5101));
    const std::string valid = v.key(kTestA);
    for (const std::string& key :
         {std::string("abc"), std::string("sk_test_short"), "sk_prod_" + valid.substr(8),
          valid.substr(0, 39), valid + "!", "SK_TEST_" + valid.substr(8)}) {
        INFO("key: " << key);
        require_all_refused(v, sent, {{"Authorization", "Bearer " + key}}, 401, 4011);
        require_all_refused(v, sent, {{"x-api-key", key}}, 401, 4011);
    }
}

TEST_CASE("an unknown key answers 401 with 4011") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(5201));
    require_all_refused(v, sent, bearer(random_api_key(false)), 401, 4011);
    require_all_refused(v, sent, bearer(random_api_key(true)), 401, 4011);
}

TEST_CASE("a revoked key answers 401 with 4012") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(5301));
    require_all_refused(v, sent, bearer(v.key(kRevoked)), 401, 4012);
    require_all_refused(v, sent, {{"x-api-key", v.key(kRevoked)}}, 401, 4012);
}

TEST_CASE("an expired key answers 401 with 4013") {
    VerifydInstance v;
    json sent = v.send_ok(v.key(kTestA), us_number(5401));
    require_all_refused(v, sent, bearer(v.key(kExpired)), 401, 4013);
}

TEST_CASE("a key without the endpoint's scope answers 403 with 4030") {
    VerifydInstance v;
    const std::string to = us_number(5501);
    json sent = v.send_ok(v.key(kTestA), to);
    const std::string id = sent["id"];
    const std::string message = sent["message_id"];

    const std::string& reader = v.key(kReadOnly);
    require_error(v.send(reader, {{"to", us_number(5502)}}), 403, 4030);
    require_error(v.check(reader, id, "123456"), 403, 4030);
    require_error(v.cancel(reader, id), 403, 4030);
    require_success(v.get_verification(reader, id));
    require_success(v.get("/messages/" + message, reader));
    require_success(v.get("/messages?to=%2B" + to.substr(1), reader));

    const std::string& sender = v.key(kSendOnly);
    require_error(v.check(sender, id, "123456"), 403, 4030);
    require_error(v.get_verification(sender, id), 403, 4030);
    require_error(v.get("/messages/" + message, sender), 403, 4030);
    require_error(v.get("/v3/messages/" + message, sender), 403, 4030);
    require_error(v.get("/messages?to=%2B" + to.substr(1), sender), 403, 4030);
    v.send_ok(sender, us_number(5503));
    json canceled = require_success(v.cancel(sender, id));
    CHECK(canceled.value("status", "") == "canceled");

    // The refused check did not count as an attempt.
    json read = require_success(v.get_verification(v.key(kTestA), id));
    CHECK(read["attempts"] == 0);
}

TEST_CASE("a key is accepted as Authorization Bearer and as x-api-key") {
    VerifydInstance v;
    HttpClient client = v.client();
    const std::string& key = v.key(kTestA);
    HttpResponse by_header =
        client.post("/verify/send", {{"x-api-key", key}, {"Content-Type", "application/json"}},
                    json{{"to", us_number(5601)}}.dump());
    json sent = require_success(by_header, 201);
    require_success(client.get("/verify/" + sent["id"].get<std::string>(), {{"X-API-KEY", key}}));
    require_success(client.get("/verify/" + sent["id"].get<std::string>(),
                               {{"authorization", "Bearer " + key}}));
    require_success(client.get("/verify/" + sent["id"].get<std::string>(), bearer(key)));
    // The spaces and tabs around a field value are not part of it (RFC 9110 §5.5).
    require_success(client.get("/verify/" + sent["id"].get<std::string>(),
                               {{"Authorization", "\tBearer " + key + " \t"}}));
    require_success(
        client.get("/verify/" + sent["id"].get<std::string>(), {{"x-api-key", key + "  "}}));
}

TEST_CASE("health, readiness and metrics need no key") {
    VerifydInstance v;
    CHECK(v.get("/healthz").status == 200);
    CHECK(v.get("/readyz").status == 200);
    HttpResponse metrics = v.get("/metrics");
    CHECK(metrics.status == 200);
}

TEST_CASE("a key whose prefix disagrees with its entry's mode answers 401 with 4011") {
    const std::string test_key = random_api_key(false);
    const std::string live_key = random_api_key(true);
    const std::string future_key = random_api_key(false);
    InstanceOptions options;
    options.extra_key_entries = {
        {{"id", "key_mislabelled_test"},
         {"account", kAccountA},
         {"hash", key_file_hash(test_key)},
         {"mode", "live"}},
        {{"id", "key_mislabelled_live"},
         {"account", kAccountA},
         {"hash", key_file_hash(live_key)},
         {"mode", "test"}},
        {{"id", "key_future"},
         {"account", kAccountA},
         {"hash", key_file_hash(future_key)},
         {"mode", "test"},
         {"expires_at", "2999-01-01T00:00:00Z"}},
    };
    VerifydInstance v(options);
    require_error(v.send(test_key, {{"to", us_number(5701)}}), 401, 4011);
    require_error(v.send(live_key, {{"to", us_number(5702)}}), 401, 4011);
    // A key that expires some day works until then.
    v.send_ok(future_key, us_number(5703));
}
