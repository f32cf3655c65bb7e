// The cluster client (redis_cluster.hpp) against scripted nodes (support/fake_redis.hpp)
// that answer what a real cluster answers only in passing: MOVED, ASK, TRYAGAIN,
// CLUSTERDOWN, a lost function library, a node gone, a node too slow; and what the
// client counts in the metrics of each node. Here because the nodes are loopback
// servers; the same client against a real Redis Cluster is redis_cluster_client_test.cpp.
#include <hiredis/hiredis.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "support/api_checks.hpp"
#include "support/fake_redis.hpp"
#include "support/redis_server.hpp"
#include "verifyd/lua_scripts.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/redis_cluster.hpp"
#include "verifyd/redis_slots.hpp"

using namespace verifyd;
using namespace verifyd_test;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr int kFakeNodeTimeoutMs = 500;

struct Range {
    int first;
    int last;
    int port;
};

// A CLUSTER SLOTS reply: each range's primary on 127.0.0.1, no replicas.
std::string slots_reply(const std::vector<Range>& ranges) {
    std::vector<std::string> elements;
    for (const Range& range : ranges) {
        elements.push_back(resp::array(
            {resp::integer(range.first), resp::integer(range.last),
             resp::array({resp::bulk("127.0.0.1"), resp::integer(range.port), resp::bulk("id")})}));
    }
    return resp::array(elements);
}

bool is(const std::vector<std::string>& args, const std::string& name) {
    return !args.empty() && args[0] == name;
}

// `script`, with CLUSTER SLOTS answered: `node` serves every slot.
FakeRedis::Script serving_every_slot(const FakeRedis& node, FakeRedis::Script script) {
    return [&node, script](const std::vector<std::string>& args) {
        return is(args, "CLUSTER") ? slots_reply({{0, 16383, node.port()}}) : script(args);
    };
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The commands named `name` that `node` received.
std::vector<ReceivedCommand> received(const FakeRedis& node, const std::string& name) {
    std::vector<ReceivedCommand> out;
    for (const auto& command : node.received()) {
        if (command.args[0] == name) {
            out.push_back(command);
        }
    }
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

const std::string kKey = "{user1}:a";
const int kSlot = redis_slot(kKey);

}  // namespace

TEST_CASE("a command goes to its slot's primary, as the first seed that answers maps them") {
    FakeRedis gone;
    gone.stop();
    FakeRedis b([](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("from b") : "";
    });
    FakeRedis a([&](const std::vector<std::string>& args) {
        if (is(args, "CLUSTER")) {
            return slots_reply({{0, 8191, a.port()}, {8192, 16383, b.port()}});
        }
        return is(args, "GET") ? resp::bulk("from a") : "";
    });
    ClusterClient client({gone.address(), a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);

    CHECK(client.slot_map().complete());
    CHECK(answered_string(client.command(100, {"GET", "x"})) == "from a");
    CHECK(answered_string(client.command(9000, {"GET", "y"})) == "from b");
    CHECK(received(a, "GET").size() == 1);
    CHECK(received(b, "GET").size() == 1);
    // Each primary's connection loaded the function library as it opened.
    CHECK(b.count("FUNCTION") == 1);
}

TEST_CASE(
    "MOVED moves the slot in the map, the command is sent to the named node, and the "
    "whole map is read again before the next command") {
    FakeRedis b([](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("moved value") : "";
    });
    std::atomic<bool> moved{false};
    FakeRedis a([&](const std::vector<std::string>& args) {
        if (is(args, "CLUSTER")) {
            return moved ? slots_reply({{0, kSlot - 1, a.port()},
                                        {kSlot, kSlot, b.port()},
                                        {kSlot + 1, 16383, a.port()}})
                         : slots_reply({{0, 16383, a.port()}});
        }
        if (is(args, "GET") && args[1] == kKey) {
            moved = true;
            return resp::error("MOVED " + std::to_string(kSlot) +
                               " 127.0.0.1:" + std::to_string(b.port()));
        }
        return is(args, "GET") ? resp::bulk("a value") : "";
    });
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    const size_t maps_read = a.count("CLUSTER");

    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "moved value");
    CHECK(client.slot_map().primary(kSlot) == ClusterNode{"127.0.0.1", b.port()});
    CHECK(client.slot_map().primary(kSlot + 1) == ClusterNode{"127.0.0.1", a.port()});
    CHECK(a.count("CLUSTER") == maps_read);

    CHECK(answered_string(client.command(kSlot + 1, {"GET", "other"})) == "a value");
    CHECK(a.count("CLUSTER") == maps_read + 1);
    CHECK(client.slot_map().primary(kSlot) == ClusterNode{"127.0.0.1", b.port()});
    // The moved key now goes straight to b.
    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "moved value");
    CHECK(received(a, "GET").size() == 2);
    CHECK(received(b, "GET").size() == 2);
}

TEST_CASE("MOVED to an empty host means another port of the node that answered") {
    FakeRedis b([](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("here") : "";
    });
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::error("MOVED 7 :" + std::to_string(b.port())) : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    CHECK(answered_string(client.command(7, {"GET", "k"})) == "here");
    CHECK(client.slot_map().primary(7) == ClusterNode{"127.0.0.1", b.port()});
}

TEST_CASE(
    "ASK sends ASKING and the command to the named node once, and leaves the map as it "
    "was") {
    FakeRedis b([](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("importing node's value") : "";
    });
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::error("ASK " + std::to_string(kSlot) +
                                             " 127.0.0.1:" + std::to_string(b.port()))
                               : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    const size_t maps_read = a.count("CLUSTER");

    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "importing node's value");
    CHECK(client.slot_map().primary(kSlot) == ClusterNode{"127.0.0.1", a.port()});
    std::vector<ReceivedCommand> on_b;
    for (const auto& command : b.received()) {
        if (command.args[0] != "FUNCTION") {
            on_b.push_back(command);
        }
    }
    REQUIRE(on_b.size() == 2);
    CHECK(on_b[0].args == std::vector<std::string>{"ASKING"});
    CHECK(on_b[1].args == std::vector<std::string>{"GET", kKey});
    CHECK(on_b[0].connection == on_b[1].connection);

    // The next command for the slot asks its primary first again, and no new map is read.
    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "importing node's value");
    CHECK(received(a, "GET").size() == 2);
    CHECK(b.count("ASKING") == 2);
    CHECK(a.count("CLUSTER") == maps_read);
}

TEST_CASE("TRYAGAIN is retried after a pause until the node can answer") {
    std::atomic<int> refusals{0};
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        if (is(args, "MGET") && ++refusals <= 2) {
            return resp::error("TRYAGAIN Multiple keys request during rehashing of slot");
        }
        return is(args, "MGET") ? resp::array({resp::bulk("1"), resp::bulk("2")}) : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    auto result = client.command(kSlot, {"MGET", "{user1}:a", "{user1}:b"});
    REQUIRE(result.ok());
    CHECK(result.value->elements == 2);
    CHECK(a.count("MGET") == 3);
}

TEST_CASE(
    "TRYAGAIN that lasts past the retry budget answers 503 with retry_after after about "
    "the budget") {
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "MGET") ? resp::error("TRYAGAIN Multiple keys request during rehashing")
                                : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);  // budget: 1 s
    const auto start = Clock::now();
    auto result = client.command(kSlot, {"MGET", "{user1}:a", "{user1}:b"});
    const double took = seconds_since(start);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error->http_status == 503);
    CHECK(result.error->code == ErrorCode::InternalError);
    CHECK(result.error->retry_after >= 1);
    CHECK(took >= 0.9);
    CHECK(took < 1.6);
    // Retried with pauses that grow: several times, not hundreds.
    CHECK(a.count("MGET") >= 4);
    CHECK(a.count("MGET") <= 20);
}

TEST_CASE(
    "CLUSTERDOWN is retried within the budget: it passes once the cluster is up, and is "
    "503 with retry_after when it does not come up") {
    std::atomic<int> refusals_left{1000000};
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        if (is(args, "SET")) {
            return refusals_left-- > 0 ? resp::error("CLUSTERDOWN The cluster is down")
                                       : resp::status("OK");
        }
        return std::string();
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs, milliseconds(400));

    const auto start = Clock::now();
    auto refused = client.command(kSlot, {"SET", kKey, "1"});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error->http_status == 503);
    CHECK(refused.error->retry_after >= 1);
    CHECK(seconds_since(start) >= 0.35);
    CHECK(seconds_since(start) < 1.0);

    // Down for two more answers, then up.
    refusals_left = 2;
    auto accepted = client.command(kSlot, {"SET", kKey, "1"});
    CHECK(a.count("SET") >= 3);
    CHECK(answered_string(accepted) == "OK");
}

TEST_CASE("a function the node lost is loaded again there and the call sent once more") {
    // The first load is the connection's own as it opens; the node loses the library
    // right after it, and has it again after the client's second load.
    std::atomic<int> loads{0};
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        if (is(args, "FUNCTION")) {
            ++loads;
            return resp::bulk("lib");
        }
        if (is(args, "FCALL")) {
            return loads < 2 ? resp::error("ERR Function not found") : resp::integer(1);
        }
        return std::string();
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);

    auto result = client.command(kSlot, {"FCALL", "read", "1", kKey});
    REQUIRE(result.ok());
    CHECK(result.value->integer == 1);
    std::vector<std::string> sequence;
    for (const auto& args : a.commands()) {
        if (args[0] == "FCALL" || args[0] == "FUNCTION") {
            sequence.push_back(args[0]);
        }
    }
    CHECK(sequence == std::vector<std::string>{"FUNCTION", "FCALL", "FUNCTION", "FCALL"});
    // The script's name was sent as this release's function.
    CHECK(received(a, "FCALL").front().args[1] == lua_function("read"));
}

TEST_CASE("a function still missing after the library was loaded again is the call's error") {
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "FCALL") ? resp::error("ERR Function not found") : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    auto result = client.command(kSlot, {"FCALL", "read", "1", kKey});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error->http_status == 500);
    REQUIRE(result.value);  // the reply comes with the error
    CHECK(reply_string(result.value.get()) == "ERR Function not found");
    CHECK(a.count("FCALL") == 2);
}

TEST_CASE("a command's own error comes back at once, with its reply") {
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "INCR") ? resp::error("ERR value is not an integer or out of range") : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    auto result = client.command(kSlot, {"INCR", kKey});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error->http_status == 500);
    CHECK(a.count("INCR") == 1);
}

TEST_CASE(
    "a pipeline sends each node's commands in one round trip and answers in the order "
    "given") {
    auto echo = [](const std::string& node) {
        return [node](const std::vector<std::string>& args) {
            return is(args, "GET") ? resp::bulk(node + ":" + args[1]) : "";
        };
    };
    FakeRedis b(echo("b"));
    FakeRedis a([&](const std::vector<std::string>& args) {
        if (is(args, "CLUSTER")) {
            return slots_reply({{0, 8191, a.port()}, {8192, 16383, b.port()}});
        }
        return echo("a")(args);
    });
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    std::vector<std::pair<int, std::vector<std::string>>> commands;
    std::vector<std::string> expected;
    for (int i = 0; i < 20; ++i) {
        const int slot = (i % 2 == 0) ? i : 8192 + i;
        const std::string key = "k" + std::to_string(i);
        commands.push_back({slot, {"GET", key}});
        expected.push_back((i % 2 == 0 ? "a:" : "b:") + key);
    }
    auto answers = client.pipeline(commands);
    REQUIRE(answers.size() == expected.size());
    for (size_t i = 0; i < answers.size(); ++i) {
        CHECK(answered_string(answers[i]) == expected[i]);
    }
    for (const FakeRedis* node : {&a, &b}) {
        auto gets = received(*node, "GET");
        REQUIRE(gets.size() == 10);
        for (const auto& get : gets) {
            CHECK(get.connection == gets.front().connection);
            CHECK(get.read == gets.front().read);
        }
    }
}

TEST_CASE("a pipeline follows each command's redirect on its own") {
    FakeRedis b([](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("b:" + args[1]) : "";
    });
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        if (is(args, "GET") && args[1] == "moved") {
            return resp::error("MOVED 2 127.0.0.1:" + std::to_string(b.port()));
        }
        if (is(args, "GET") && args[1] == "asked") {
            return resp::error("ASK 3 127.0.0.1:" + std::to_string(b.port()));
        }
        return is(args, "GET") ? resp::bulk("a:" + args[1]) : "";
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    auto answers = client.pipeline({{1, {"GET", "stays"}},
                                    {2, {"GET", "moved"}},
                                    {3, {"GET", "asked"}},
                                    {4, {"GET", "last"}}});
    REQUIRE(answers.size() == 4);
    CHECK(answered_string(answers[0]) == "a:stays");
    CHECK(answered_string(answers[1]) == "b:moved");
    CHECK(answered_string(answers[2]) == "b:asked");
    CHECK(answered_string(answers[3]) == "a:last");
    CHECK(client.slot_map().primary(2) == ClusterNode{"127.0.0.1", b.port()});
    CHECK(client.slot_map().primary(3) == ClusterNode{"127.0.0.1", a.port()});
    CHECK(b.count("ASKING") == 1);
}

TEST_CASE(
    "when a primary goes away the map is read again from another node and the command "
    "served by the new primary") {
    std::atomic<int> serving{0};  // which port serves every slot, as both nodes say
    auto script = [&](const std::string& name) {
        return [&, name](const std::vector<std::string>& args) {
            if (is(args, "CLUSTER")) {
                return slots_reply({{0, 16383, serving.load()}});
            }
            return is(args, "SET") ? resp::status("OK " + name) : "";
        };
    };
    FakeRedis a(script("a"));
    FakeRedis b(script("b"));
    serving = a.port();
    ClusterClient client({a.address(), b.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    CHECK(answered_string(client.command(kSlot, {"SET", kKey, "1"})) == "OK a");
    CHECK(client.all_slots_served());

    a.stop();
    serving = b.port();
    const auto start = Clock::now();
    CHECK(answered_string(client.command(kSlot, {"SET", kKey, "2"})) == "OK b");
    CHECK(seconds_since(start) < 0.5);
    CHECK(client.slot_map().primary(kSlot) == ClusterNode{"127.0.0.1", b.port()});
    CHECK(client.all_slots_served());
}

TEST_CASE("all slots are served only while the map is complete and every primary answers") {
    std::atomic<bool> complete{false};
    FakeRedis b;
    FakeRedis a([&](const std::vector<std::string>& args) {
        if (is(args, "CLUSTER")) {
            return complete ? slots_reply({{0, 8191, a.port()}, {8192, 16383, b.port()}})
                            : slots_reply({{0, 8191, a.port()}});
        }
        return std::string();
    });
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs);
    CHECK_FALSE(client.all_slots_served());
    complete = true;
    CHECK(client.all_slots_served());
    b.stop();
    CHECK_FALSE(client.all_slots_served());
}

TEST_CASE("with no seed answering, a command is 503 within the budget") {
    FakeRedis gone;
    gone.stop();
    ClusterClient client({gone.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs, milliseconds(300));
    CHECK_FALSE(client.all_slots_served());
    const auto start = Clock::now();
    auto result = client.command(kSlot, {"GET", kKey});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error->http_status == 503);
    CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("a command that timed out is not sent again: Redis may have run it") {
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        if (is(args, "INCR")) {
            std::this_thread::sleep_for(milliseconds(300));
            return resp::integer(1);
        }
        return std::string();
    }));
    ClusterClient client({a.address()}, RedisEndpoint{}, 100);
    auto result = client.command(kSlot, {"INCR", kKey});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error->http_status == 503);
    CHECK(a.count("INCR") == 1);
    // The late answer went with the dropped connection: the next command is answered
    // right.
    a.set_script(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("fresh") : "";
    }));
    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "fresh");
}

TEST_CASE("a password is sent to every node the client connects to") {
    RedisEndpoint credentials;
    credentials.user = "verifyd";
    credentials.password = "s3cret";
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("v") : "";
    }));
    ClusterClient client({a.address()}, credentials, kFakeNodeTimeoutMs);
    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "v");
    auto auths = received(a, "AUTH");
    REQUIRE(auths.size() == 2);  // the map's connection, then the primary's
    for (const auto& auth : auths) {
        CHECK(auth.args == std::vector<std::string>{"AUTH", "verifyd", "s3cret"});
    }
}

TEST_CASE(
    "with metrics, a command's round trip is counted for its node, a node that is gone as its "
    "error (an error reply is an answer, not one), and MOVED as a redirect") {
    FakeRedis b([](const std::vector<std::string>& args) {
        return is(args, "GET") ? resp::bulk("b") : "";
    });
    FakeRedis a(serving_every_slot(a, [&](const std::vector<std::string>& args) {
        if (is(args, "INCR")) {
            return resp::error("ERR value is not an integer or out of range");
        }
        if (is(args, "GET") && args[1] == kKey) {
            return resp::error("MOVED " + std::to_string(kSlot) +
                               " 127.0.0.1:" + std::to_string(b.port()));
        }
        return is(args, "GET") ? resp::bulk("a") : "";
    }));
    Metrics metrics;
    ClusterClient client({a.address()}, RedisEndpoint{}, kFakeNodeTimeoutMs,
                         ClusterClient::kRetryBudget, &metrics);

    CHECK(answered_string(client.command(kSlot + 1, {"GET", "other"})) == "a");
    CHECK_FALSE(client.command(kSlot + 1, {"INCR", "other"}).ok());
    CHECK(answered_string(client.command(kSlot, {"GET", kKey})) == "b");
    b.stop();
    CHECK_FALSE(client.command(kSlot, {"GET", kKey}).ok());

    const std::string text = metrics.render();
    INFO(text);
    const std::map<std::string, std::string> on_a = {
        {"node", "127.0.0.1:" + std::to_string(a.port())}};
    const std::map<std::string, std::string> on_b = {
        {"node", "127.0.0.1:" + std::to_string(b.port())}};
    // Before b went: on a, the GET, the INCR and the GET it moved; on b, that GET again.
    CHECK(metric_value(text, "verifyd_redis_node_command_duration_seconds_count", on_a) >= 3);
    CHECK(metric_value(text, "verifyd_redis_node_command_duration_seconds_count", on_b) >= 1);
    CHECK(metric_value(text, "verifyd_redis_node_errors_total", on_a) == 0);
    CHECK(metric_value(text, "verifyd_redis_node_errors_total", on_b) >= 1);
    CHECK(metric_value(text, "verifyd_redis_redirects_total", {{"kind", "moved"}}) >= 1);
    CHECK(has_line(text, "verifyd_redis_redirects_total{kind=\"ask\"} 0"));
}
