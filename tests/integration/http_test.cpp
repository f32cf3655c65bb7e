// HTTP behaviour (§1): malformed and oversized bodies, unknown routes and wrong methods
// with the error envelope, X-Request-Id rules, persistent connections, and requests whose
// framing is refused (http_framing.hpp) or that come before their turn (pipelining).
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "support/api_checks.hpp"
#include "support/raw_connection.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

std::string repeat(const std::string& part, size_t times) {
    std::string out;
    out.reserve(part.size() * times);
    for (size_t i = 0; i < times; ++i) {
        out += part;
    }
    return out;
}

bool says_close(const HttpResponse& response) {
    for (std::string value : response.header_values("Connection")) {
        std::transform(value.begin(), value.end(), value.begin(), ::tolower);
        if (value.find("close") != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("a body that is not a JSON object answers 400 with 4000") {
    VerifydInstance v;
    const size_t depth = 16000;  // just under the 16 KiB limit
    const std::vector<std::pair<std::string, std::string>> bodies = {
        {"empty", ""},
        {"not JSON", "not json"},
        {"truncated", "{\"to\": \"+14155552671\""},
        {"array", "[]"},
        {"string", "\"str\""},
        {"number", "42"},
        {"null", "null"},
        {"trailing garbage", "{\"to\": \"+14155552671\"} x"},
        {"invalid UTF-8", "{\"to\": \"+14155552671\", \"locale\": \"e\xff\xfe\"}"},
        {"unclosed nested arrays", std::string(depth, '[')},
        {"balanced nested arrays", std::string(depth / 2, '[') + std::string(depth / 2, ']')},
        {"unclosed nested objects", repeat("{\"a\":", depth / 5)},
        {"balanced nested objects",
         repeat("{\"a\":", depth / 6) + "1" + std::string(depth / 6, '}')},
    };
    for (const auto& [name, body] : bodies) {
        INFO("body: " << name);
        require_error(v.post_raw("/verify/send", v.key(kTestA), body), 400, 4000);
        require_error(v.post_raw("/verify/check", v.key(kTestA), body), 400, 4000);
    }
    CHECK(v.process().running());
    CHECK(v.get("/healthz").status == 200);
}

TEST_CASE(
    "a body that is not JSON and was sent as a form or text answers 4000 naming its "
    "Content-Type, and a JSON body is read whatever its Content-Type says") {
    VerifydInstance v;
    HttpClient client = v.client();
    auto post_as = [&](const std::string& content_type, const std::string& body) {
        Headers headers = bearer(v.key(kTestA));
        headers.emplace_back("Content-Type", content_type);
        return client.post("/verify/send", headers, body);
    };
    for (const std::string content_type :
         {"application/x-www-form-urlencoded", "text/plain; charset=utf-8",
          "multipart/form-data; boundary=x"}) {
        INFO("Content-Type: " << content_type);
        const json error = require_error(post_as(content_type, "to=%2B14155552671"), 400, 4000);
        CHECK(require_detail(error, "Content-Type").find("application/json") != std::string::npos);
    }
    const std::vector<std::pair<std::string, std::string>> json_sends = {
        {"application/json; charset=utf-8", "+14155552671"}, {"text/plain", "+14155552672"}};
    for (const auto& [content_type, to] : json_sends) {
        INFO("Content-Type: " << content_type);
        require_success(post_as(content_type, json{{"to", to}}.dump()), 201);
    }
    const json labelled_json =
        require_error(post_as("application/json", "to=%2B14155552671"), 400, 4000);
    CHECK_FALSE(labelled_json.contains("details"));
}

TEST_CASE("a body over 16 KiB answers 413 with 4000") {
    VerifydInstance v;
    for (size_t size : {16 * 1024 + 1, 17 * 1024, 64 * 1024}) {
        INFO("body of " << size << " bytes");
        std::string body = "{\"to\": \"+14155552671\"" + std::string(size, ' ');
        body.resize(size - 1);
        body += "}";
        REQUIRE(body.size() == size);
        require_error(v.post_raw("/verify/send", v.key(kTestA), body), 413, 4000);
    }
    CHECK(v.process().running());
    CHECK(v.get("/healthz").status == 200);
}

// Requests whose bytes are not one request verifyd can read never reach the API's
// routes: they get a 4xx, never a 5xx, and verifyd goes on serving new connections
// (README, "Limits"); require_unreadable below holds the rest (the envelope, the
// connection ended).
static void require_refused_by_http_layer(VerifydInstance& v, const HttpResponse& response,
                                          int status) {
    CHECK(response.status == status);
    CHECK(v.process().running());
    require_success(v.client().get("/healthz"), 200);
}

// A request refused for its framing: the envelope's 4000 with `status`, the connection
// ended by verifyd, and the service going on.
static void require_unreadable(VerifydInstance& v, HttpClient& client, const std::string& bytes,
                               int status) {
    INFO(bytes.substr(0, 200));
    const HttpResponse response = client.send_raw(bytes);
    require_error(response, status, 4000);
    CHECK(says_close(response));
    CHECK(client.closed_by_server());
    require_refused_by_http_layer(v, response, status);
}

constexpr const char* kSmuggled =
    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: smuggled\r\n\r\n";

TEST_CASE("bytes after a request refused for its size are never read as requests") {
    VerifydInstance v;
    HttpClient client = v.client();
    // Declared over 1 MiB: refused before its body is read, and nothing after it is read.
    const std::string requests = repeat(kSmuggled, 2000);
    require_unreadable(v, client,
                       "POST /verify/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                           std::to_string(2 * 1024 * 1024) + "\r\n\r\n" + requests,
                       413);
    CHECK(v.log().find("smuggled") == std::string::npos);
}

TEST_CASE(
    "a Content-Length that is not a number of bytes is refused with 400, the connection ended") {
    VerifydInstance v;
    for (const char* length : {"abc", "-1", "0x10", "1e3", "18446744073709551616", "5, 6"}) {
        HttpClient client = v.client();
        require_unreadable(v, client,
                           std::string("POST /verify/check HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                               "Content-Length: " + length + "\r\n\r\n{}" + kSmuggled,
                           400);
    }
    CHECK(v.log().find("smuggled") == std::string::npos);
}

TEST_CASE(
    "folded, nameless and doubled framing headers are refused with 400, the connection ended") {
    VerifydInstance v;
    for (const char* lines :
         {"X-Long: one\r\n two\r\n", "NoColon\r\n", "Content-Length : 2\r\n", "Host: second\r\n"}) {
        HttpClient client = v.client();
        require_unreadable(
            v, client, std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n") + lines + "\r\n",
            400);
    }
    HttpClient client = v.client();
    require_unreadable(v, client, "GET /healthz HTTP/1.1\r\nHost: a\"><b>\r\n\r\n", 400);
    // A target Pistache would read across the line end, into header lines not checked.
    HttpClient across = v.client();
    require_unreadable(v, across, "GET /healthz\r\n\r\n HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                       400);
}

TEST_CASE("a body sent with Transfer-Encoding is refused with 411, the connection ended") {
    VerifydInstance v;
    for (const char* lines :
         {"Transfer-Encoding: chunked\r\n", "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
          "Transfer-Encoding: gzip\r\n"}) {
        HttpClient client = v.client();
        require_unreadable(v, client,
                           std::string("POST /verify/check HTTP/1.1\r\nHost: 127.0.0.1\r\n") +
                               lines + "\r\n2\r\n{}\r\n0\r\n\r\n" + kSmuggled,
                           411);
    }
    CHECK(v.log().find("smuggled") == std::string::npos);
}

size_t messages_to(VerifydInstance& v, const std::string& to) {
    return require_success(v.get("/messages?to=%2B" + to.substr(1), v.key(kTestA)), 200)["messages"]
        .size();
}

TEST_CASE("a request that arrives a few bytes at a time is read as one, and the next after it") {
    VerifydInstance v;
    const std::string request = send_request_bytes(v.key(kTestA), us_number(10701));
    RawConnection connection(v.port());
    // Pieces that cut the header block's end, a header line and the body.
    for (size_t at = 0; at < request.size(); at += 7) {
        REQUIRE(connection.write(request.substr(at, 7)));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(connection.read_until_received("\"success\":true}", std::chrono::seconds(5)));
    CHECK(connection.received().rfind("HTTP/1.1 201 Created", 0) == 0);
    REQUIRE(connection.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    REQUIRE(connection.read_until_received("HTTP/1.1 200 OK", std::chrono::seconds(5)));
    CHECK(messages_to(v, us_number(10701)) == 1);
}

TEST_CASE("empty lines before a request and after a body are ignored, and the connection goes on") {
    VerifydInstance v;
    RawConnection connection(v.port());
    // As some clients send them (RFC 9112 §2.2): before a request line, after a body in
    // the same write, and after a body in a write of their own.
    REQUIRE(connection.write("\r\n\r\n" + send_request_bytes(v.key(kTestA), us_number(10901)) +
                             "\r\n"));
    REQUIRE(connection.read_until_received("\"success\":true}", std::chrono::seconds(5)));
    CHECK(connection.received().rfind("HTTP/1.1 201 Created", 0) == 0);
    REQUIRE(connection.write("\r\n"));
    REQUIRE(connection.write("\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    REQUIRE(connection.read_until_received("HTTP/1.1 200 OK", std::chrono::seconds(5)));
    std::string lowered = connection.received();
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), ::tolower);
    CHECK(lowered.find("connection: close") == std::string::npos);
    CHECK(messages_to(v, us_number(10901)) == 1);
}

TEST_CASE("a client that asks to be told to send its body is told 100 Continue first") {
    VerifydInstance v;
    const std::string body = json{{"to", us_number(10501)}}.dump();
    RawConnection connection(v.port());
    REQUIRE(connection.write(
        "POST /verify/send HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + v.key(kTestA) +
        "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n"));
    REQUIRE(
        connection.read_until_received("HTTP/1.1 100 Continue\r\n\r\n", std::chrono::seconds(5)));
    REQUIRE(connection.write(body));
    REQUIRE(connection.read_until_received("\"success\":true}", std::chrono::seconds(5)));
    CHECK(connection.received().find("HTTP/1.1 201 Created") != std::string::npos);
    CHECK(messages_to(v, us_number(10501)) == 1);
}

TEST_CASE("nothing is read after pipelined requests, even once the first is answered") {
    VerifydInstance v;
    RawConnection connection(v.port());
    // The first is answered at once; the second came with it; the third comes after the
    // first answer.
    REQUIRE(
        connection.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                         "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    REQUIRE(connection.read_until_received("\"success\":true}", std::chrono::seconds(5)));
    connection.write(send_request_bytes(v.key(kTestA), us_number(10801)));
    CHECK(connection.read_until_closed(std::chrono::seconds(5)));
    const std::string& received = connection.received();
    INFO(received.substr(0, 600));
    CHECK(received.find("HTTP/1.1", 1) == std::string::npos);
    // Time for the third to be read and run, were it read.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK(messages_to(v, us_number(10801)) == 0);
}

TEST_CASE(
    "a request written while the one before it is being answered is not read: the first answer "
    "closes the connection") {
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "5000"}});
    // Redis holds the first send's calls, so that the second request comes while it is
    // being answered.
    v.redis().command({"CLIENT", "PAUSE", "2000", "WRITE"});
    RawConnection connection(v.port());
    REQUIRE(connection.write(send_request_bytes(v.key(kTestA), us_number(10401))));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    connection.write(send_request_bytes(v.key(kTestA), us_number(10402)));
    CHECK(connection.read_until_closed(std::chrono::seconds(8)));
    const std::string& received = connection.received();
    INFO(received.substr(0, 600));
    CHECK(received.rfind("HTTP/1.1 201", 0) == 0);
    CHECK(received.find("HTTP/1.1", 1) == std::string::npos);
    std::string lowered = received;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), ::tolower);
    CHECK(lowered.find("connection: close") != std::string::npos);
    CHECK(messages_to(v, us_number(10401)) == 1);
    CHECK(messages_to(v, us_number(10402)) == 0);
}

TEST_CASE(
    "a request written before the answer to the one before it is not read: the first is "
    "answered and the connection ends") {
    VerifydInstance v;
    HttpClient client = v.client();
    const std::string body = json{{"to", us_number(10301)}}.dump();
    const HttpResponse first = client.send_raw(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        "POST /verify/send HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
        v.key(kTestA) + "\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    require_success(first, 200);
    CHECK(says_close(first));
    CHECK(client.closed_by_server());
    // The second request, never answered, did nothing.
    const json listed =
        require_success(v.get("/messages?to=%2B" + us_number(10301).substr(1), v.key(kTestA)), 200);
    CHECK(listed["messages"].empty());
}

TEST_CASE(
    "answers larger than the connection takes at once arrive whole and in order, and the "
    "connection ends after the last when asked") {
    VerifydInstance v;
    // Forty documents of about 150 KB each, asked one after another on one connection
    // whose client reads nothing until the last is asked, and then a few KB at a time:
    // more than the socket's buffers hold, so most of it waits in verifyd.
    constexpr int kDocuments = 40;
    RawConnection connection(v.port(), 4096);
    for (int i = 0; i < kDocuments; ++i) {
        REQUIRE(connection.write("GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(
        connection.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    CHECK(connection.read_until_closed(std::chrono::seconds(20)));

    // The answers, one after another, each cut at its Content-Length.
    const std::string& received = connection.received();
    std::vector<std::string> bodies;
    size_t at = 0;
    while (at < received.size()) {
        INFO("answer " << bodies.size() + 1 << " begins: " << received.substr(at, 100));
        REQUIRE(received.compare(at, 17, "HTTP/1.1 200 OK\r\n") == 0);
        const size_t head_end = received.find("\r\n\r\n", at);
        REQUIRE(head_end != std::string::npos);
        std::string head = received.substr(at, head_end - at);
        std::transform(head.begin(), head.end(), head.begin(), ::tolower);
        const size_t length_at = head.find("content-length: ");
        REQUIRE(length_at != std::string::npos);
        const size_t length = std::stoul(head.substr(length_at + 16));
        REQUIRE(received.size() >= head_end + 4 + length);
        bodies.push_back(received.substr(head_end + 4, length));
        at = head_end + 4 + length;
    }
    REQUIRE(bodies.size() == kDocuments + 1);
    const json document = json::parse(bodies.front(), nullptr, false);
    REQUIRE_FALSE(document.is_discarded());
    CHECK(document.contains("openapi"));
    for (int i = 1; i < kDocuments; ++i) CHECK(bodies[i] == bodies.front());
    CHECK(bodies.back().find("\"status\":\"ok\"") != std::string::npos);
}

TEST_CASE("a body over 1 MiB is refused with 413 and the service goes on") {
    VerifydInstance v;
    std::string body = "{\"to\": \"+14155552671\"" + std::string(2 * 1024 * 1024, ' ') + "}";
    require_refused_by_http_layer(v, v.post_raw("/verify/send", v.key(kTestA), body), 413);
}

TEST_CASE("a body of up to 16 KiB, the limit itself included, is accepted") {
    VerifydInstance v;
    std::string body = "{\"to\": \"" + us_number(10001) + "\"" + std::string(12 * 1024, ' ') + "}";
    require_success(v.post_raw("/verify/send", v.key(kTestA), body), 201);
    std::string exact = "{\"to\": \"" + us_number(10002) + "\"";
    exact += std::string(16 * 1024 - 1 - exact.size(), ' ') + "}";
    REQUIRE(exact.size() == 16 * 1024);
    require_success(v.post_raw("/verify/send", v.key(kTestA), exact), 201);
}

TEST_CASE("an unknown route answers 404 with 4000") {
    VerifydInstance v;
    for (const char* path :
         {"/", "/nope", "/verify", "/v3/nothing", "/verify/a/b/c", "/healthz/extra"}) {
        INFO("GET " << path);
        require_error(v.get(path, v.key(kTestA)), 404, 4000);
    }
    require_error(v.post("/send", v.key(kTestA), {{"to", us_number(10101)}}), 404, 4000);
    require_error(v.post("/verify/vrf_x/cancel/now", v.key(kTestA), json::object()), 404, 4000);
    require_error(v.get("/nope"), 404, 4000);
}

TEST_CASE("a wrong method answers 405 with 4000 and an Allow header") {
    VerifydInstance v;
    HttpClient client = v.client();
    struct Case {
        const char* method;
        const char* path;
        const char* allowed;
    };
    for (const Case& c :
         {Case{"DELETE", "/verify/send", "POST"}, Case{"PUT", "/verify/check", "POST"},
          Case{"POST", "/healthz", "GET"}, Case{"DELETE", "/messages/msg_x", "GET"},
          Case{"PATCH", "/metrics", "GET"}}) {
        INFO(c.method << " " << c.path);
        HttpResponse response = client.request(c.method, c.path, bearer(v.key(kTestA)));
        require_error(response, 405, 4000);
        auto allow = response.header("Allow");
        REQUIRE(allow.has_value());
        CHECK(allow->find(c.allowed) != std::string::npos);
    }
}

TEST_CASE("HEAD is answered as GET would be, without the body") {
    VerifydInstance v;
    const json sent = v.send_ok(v.key(kTestA), us_number(10601));
    HttpClient client = v.client();
    const HttpResponse health = client.request("HEAD", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body.empty());
    // Its Content-Length is the GET's, whose body it leaves out (RFC 9110 §8.6).
    const HttpResponse got = client.get("/healthz");
    CHECK(health.header("Content-Length") ==
          std::optional<std::string>(std::to_string(got.body.size())));
    CHECK(health.header("Content-Type") == got.header("Content-Type"));
    CHECK(health.header("X-Request-Id").has_value());
    const std::string path = "/verify/" + sent["id"].get<std::string>();
    const HttpResponse read = client.request("HEAD", path, bearer(v.key(kTestA)));
    CHECK(read.status == 200);
    CHECK(read.body.empty());
    CHECK(client.request("HEAD", path).status == 401);
    CHECK(client.request("HEAD", "/nope").status == 404);
    // The connection goes on: no body was left to be read as the next answer.
    require_success(client.get(path, bearer(v.key(kTestA))), 200);
    const HttpResponse refused = client.request("HEAD", "/verify/send");
    CHECK(refused.status == 405);
    CHECK(refused.header("Allow") == std::optional<std::string>("POST"));
    CHECK(client.request("DELETE", "/healthz").header("Allow") ==
          std::optional<std::string>("GET, HEAD"));
}

TEST_CASE("a method HTTP does not know is refused with 400 and the service goes on") {
    VerifydInstance v;
    HttpClient client = v.client();
    HttpResponse response = client.send_raw("FOO /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    require_refused_by_http_layer(v, response, 400);
}

TEST_CASE("a request line that is not HTTP is refused with 400 and the service goes on") {
    VerifydInstance v;
    HttpClient client = v.client();
    require_refused_by_http_layer(v, client.send_raw("hello there\r\n\r\n"), 400);
}

TEST_CASE("an X-Request-Id of 1 to 128 safe characters is echoed") {
    VerifydInstance v;
    const std::vector<std::string> ids = {"abc", "A.b_c-1", "x", std::string(128, 'a')};
    for (size_t i = 0; i < ids.size(); ++i) {
        const std::string& id = ids[i];
        INFO("X-Request-Id: " << id);
        HttpResponse ok = v.get("/healthz", {}, {{"X-Request-Id", id}});
        CHECK(ok.header("X-Request-Id") == id);
        HttpResponse sent =
            v.post("/verify/send", v.key(kTestA), {{"to", us_number(10201 + static_cast<int>(i))}},
                   {{"X-Request-Id", id}});
        CHECK(require_success(sent, 201).is_object());
        CHECK(sent.header("X-Request-Id") == id);
        json error = require_error(v.get("/verify/vrf_nope", v.key(kTestA), {{"x-request-id", id}}),
                                   404, 4040);
        CHECK(error["request_id"] == id);
    }
}

TEST_CASE("an unsafe or oversized X-Request-Id is replaced by a generated req_ id") {
    VerifydInstance v;
    std::set<std::string> generated;
    for (const std::string& id :
         {std::string(129, 'a'), std::string(200, 'b'), std::string("has space"),
          std::string("semi;colon"), std::string("sl/ash"), std::string("\xc3\xbcnicode")}) {
        INFO("X-Request-Id: " << id);
        json error = require_error(v.get("/verify/vrf_nope", v.key(kTestA), {{"X-Request-Id", id}}),
                                   404, 4040);
        const std::string given = error["request_id"];
        CHECK(given != id);
        CHECK(is_generated_request_id(given));
        generated.insert(given);
    }
    CHECK(generated.size() == 6);
}

TEST_CASE("every response carries a generated X-Request-Id when the request had none") {
    VerifydInstance v;
    std::set<std::string> ids;
    for (const char* path : {"/healthz", "/readyz", "/metrics", "/nope", "/verify/vrf_nope"}) {
        INFO("GET " << path);
        HttpResponse response = v.get(path, v.key(kTestA));
        auto id = response.header("X-Request-Id");
        REQUIRE(id.has_value());
        CHECK(is_generated_request_id(*id));
        ids.insert(*id);
    }
    HttpResponse wrong_method = v.client().request("DELETE", "/verify/send");
    REQUIRE(wrong_method.header("X-Request-Id").has_value());
    ids.insert(*wrong_method.header("X-Request-Id"));
    CHECK(ids.size() == 6);
}

TEST_CASE("requests without a Connection header share one kept-alive connection") {
    VerifydInstance v;
    HttpClient client = v.client();
    const std::string& key = v.key(kTestA);
    std::vector<HttpResponse> responses;
    responses.push_back(client.get("/healthz"));
    responses.push_back(post_json(client, "/verify/send", key, {{"to", us_number(10301)}}));
    responses.push_back(client.get("/verify/vrf_nope", bearer(key)));
    responses.push_back(client.post("/verify/check", bearer(key), "not json"));
    responses.push_back(client.get("/nope"));
    CHECK(responses[0].status == 200);
    CHECK(responses[1].status == 201);
    CHECK(responses[2].status == 404);
    CHECK(responses[3].status == 400);
    CHECK(responses[4].status == 404);
    for (const auto& response : responses) {
        CHECK_FALSE(says_close(response));
    }
    CHECK(client.connections_opened() == 1);
    CHECK_FALSE(client.closed_by_server(std::chrono::milliseconds(300)));
}

TEST_CASE("a request with Connection: close is answered and the connection closed") {
    VerifydInstance v;
    HttpClient client = v.client();
    HttpResponse response = client.get("/healthz", {{"Connection", "close"}});
    CHECK(response.status == 200);
    CHECK(client.closed_by_server(std::chrono::seconds(2)));
}

TEST_CASE("an HTTP/1.0 request without keep-alive is answered and the connection closed") {
    VerifydInstance v;
    HttpClient client = v.client();
    HttpResponse response = client.request("GET", "/healthz", {}, {}, "HTTP/1.0");
    CHECK(response.status == 200);
    CHECK(client.closed_by_server(std::chrono::seconds(2)));
}

TEST_CASE("an HTTP/1.0 request asking for keep-alive keeps the connection") {
    VerifydInstance v;
    HttpClient client = v.client();
    for (int i = 0; i < 3; ++i) {
        HttpResponse response =
            client.request("GET", "/healthz", {{"Connection", "keep-alive"}}, {}, "HTTP/1.0");
        CHECK(response.status == 200);
    }
    CHECK(client.connections_opened() == 1);
    CHECK_FALSE(client.closed_by_server(std::chrono::milliseconds(300)));
}
