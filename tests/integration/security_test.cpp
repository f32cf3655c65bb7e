// Codes at rest and in logs (§5.4, §8): a live code is never in Redis in plaintext (a keyed
// hash, and sealed until delivered), appears in no log line but the log provider's delivery, and no
// phone number appears in a Redis key name.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "support/api_checks.hpp"
#include "support/redis_server.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

TEST_CASE("a live code is stored nowhere in Redis and logged only by the log provider") {
    VerifydInstance v;
    const std::string to = us_number(13001);
    // Ten digits make a chance match of the code inside an unrelated value negligible.
    json sent = v.send_ok(v.key(kLiveA), to, {{"code_length", 10}});
    const std::string message_id = sent["message_id"];
    const std::string code = v.live_code_from_log(message_id);
    REQUIRE(code.size() == 10);
    v.wait_for_delivery(v.key(kLiveA), sent["id"], "sent");

    const std::string digits = to.substr(1);    // 14155553001
    const std::string national = to.substr(2);  // 4155553001
    const std::vector<RedisEntry> entries = v.redis().dump();
    REQUIRE_FALSE(entries.empty());
    for (const auto& entry : entries) {
        INFO("key " << entry.key << " (" << entry.type << ")");
        CHECK(entry.key.find(code) == std::string::npos);
        CHECK(entry.key.find(national) == std::string::npos);
        CHECK(entry.key.find(digits) == std::string::npos);
        for (const auto& value : entry.values) {
            CHECK(value.find(code) == std::string::npos);
        }
    }

    // Every log line with the code is the provider's delivery of this message.
    std::istringstream lines(v.log());
    std::string line;
    int delivery_lines = 0;
    while (std::getline(lines, line)) {
        if (line.find(code) != std::string::npos) {
            INFO("log line: " << line);
            CHECK(line.find(message_id) != std::string::npos);
            ++delivery_lines;
        }
    }
    CHECK(delivery_lines == 1);

    json data = require_success(v.check(v.key(kLiveA), sent["id"], code));
    CHECK(data.value("status", "") == "approved");
}

TEST_CASE("no phone number appears in a Redis key name") {
    VerifydInstance v(Settings{{"VERIFYD_RESEND_COOLDOWN", "0"}});
    const std::string to = us_number(13101);
    json sent = v.send_ok(v.key(kTestA), to);
    v.send_ok(v.key(kTestA), to);
    v.send_ok(v.key(kTestB), to);
    v.check(v.key(kTestA), {{"to", to}, {"code", "0000"}});
    v.get("/messages?to=%2B" + to.substr(1), v.key(kTestA));
    v.cancel(v.key(kTestA), sent["id"]);
    const std::string national = to.substr(2);
    const std::vector<std::string> keys = v.redis().keys();
    CHECK_FALSE(keys.empty());
    for (const auto& key : keys) {
        INFO("key " << key);
        CHECK(key.find(national) == std::string::npos);
    }
}

TEST_CASE("the Redis dump used by the leak checks sees keys and values of every type") {
    RedisServer redis;
    redis.command({"SET", "s", "string-value"});
    redis.command({"HSET", "h", "field", "hash-value"});
    redis.command({"RPUSH", "l", "list-value"});
    redis.command({"SADD", "set", "set-value"});
    redis.command({"ZADD", "z", "1", "zset-value"});
    redis.command({"XADD", "x", "*", "field", "stream-value"});
    redis.command({"EXPIRE", "s", "100"});
    std::map<std::string, RedisEntry> by_key;
    for (auto& entry : redis.dump()) {
        by_key[entry.key] = entry;
    }
    REQUIRE(by_key.size() == 6);
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"s", "string-value"}, {"h", "hash-value"}, {"l", "list-value"},
        {"set", "set-value"},  {"z", "zset-value"}, {"x", "stream-value"}};
    for (const auto& [key, value] : expected) {
        INFO("key " << key);
        const auto& values = by_key[key].values;
        CHECK(std::find(values.begin(), values.end(), value) != values.end());
    }
    CHECK(by_key["s"].ttl_ms > 0);
    CHECK(by_key["h"].ttl_ms == -1);
}
