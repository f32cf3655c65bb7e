// Hash key rotation (§9): with VERIFYD_HASH_KEY_PREVIOUS_FILE, codes sent under the old
// key still check, every number keeps its limits, cooldown and current verification,
// and replicas agree whichever of them has re-read the files.
#include <catch2/catch.hpp>
#include <chrono>

#include "support/api_checks.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using namespace std::chrono;

namespace {

// Waits until a process's log says "credentials reloaded" `count` times.
void wait_for_reloads(const Process& process, size_t count) {
    REQUIRE(wait_for_log_lines(process, "info", "credentials reloaded", count, seconds(10)));
}

struct KeyFiles {
    TempDir dir;
    std::string current = dir.file("hash.key");
    std::string previous = dir.file("hash.key.previous");
    std::string first_key = random_hex(32);
    std::string second_key = random_hex(32);

    KeyFiles() {
        replace_file(current, first_key);
        replace_file(previous, "");
    }
    Settings settings() const {
        return {{"VERIFYD_HASH_KEY", std::nullopt},
                {"VERIFYD_HASH_KEY_FILE", current},
                {"VERIFYD_HASH_KEY_PREVIOUS_FILE", previous}};
    }
    // The operator's two steps.
    void rotate() {
        replace_file(previous, first_key);
        replace_file(current, second_key);
    }
};
}  // namespace

TEST_CASE(
    "a hash key rotated between send and check keeps the code, the cooldown and the "
    "current verification") {
    KeyFiles keys;
    VerifydInstance v(keys.settings());
    json live = v.send_ok(v.key(kLiveA), us_number(33001));
    const std::string live_code = v.live_code_from_log(live["message_id"]);
    json sandbox = v.send_ok(v.key(kTestA), us_number(33002));
    const std::string sandbox_code = v.sandbox_code(v.key(kTestA), sandbox["id"]);

    keys.rotate();
    wait_for_reloads(v.process(), 1);

    // The cooldown carried over: the number is the same number.
    require_error(v.send(v.key(kLiveA), {{"to", us_number(33001)}}), 429, 4043);
    json listed =
        require_success(v.get("/messages?to=%2B" + us_number(33001).substr(1), v.key(kLiveA)));
    CHECK(listed["messages"].size() == 1);
    // Right codes stay right, by number and by id.
    json approved =
        require_success(v.check(v.key(kLiveA), {{"to", us_number(33001)}, {"code", live_code}}));
    CHECK(approved["status"] == "approved");
    CHECK(approved["id"] == live["id"]);
    CHECK(require_success(v.check(v.key(kTestA), sandbox["id"], sandbox_code))["status"] ==
          "approved");

    // A code sent under the new key checks once the previous key is gone.
    json fresh = v.send_ok(v.key(kTestA), us_number(33003));
    const std::string fresh_code = v.sandbox_code(v.key(kTestA), fresh["id"]);
    replace_file(keys.previous, "");
    wait_for_reloads(v.process(), 2);
    CHECK(require_success(v.check(v.key(kTestA), fresh["id"], fresh_code))["status"] == "approved");

    // Restarted with the new key alone, verifyd still knows every number.
    v.stop();
    v.restart();
    require_error(v.send(v.key(kLiveA), {{"to", us_number(33001)}}), 429, 4043);
}

TEST_CASE("two replicas agree on codes and numbers across a rotation") {
    KeyFiles keys;
    VerifydInstance a(keys.settings());
    HttpClient b(a.start_replica());
    auto on_b = [&](const std::string& path, const json& body) {
        return b.request(
            "POST", path,
            {{"Authorization", "Bearer " + a.key(kTestA)}, {"Content-Type", "application/json"}},
            body.dump());
    };
    json before = a.send_ok(a.key(kTestA), us_number(33101));
    const std::string before_code = a.sandbox_code(a.key(kTestA), before["id"]);

    keys.rotate();
    wait_for_reloads(a.process(), 1);
    wait_for_reloads(a.replica(0), 1);

    CHECK(require_success(on_b("/verify/check", {{"id", before["id"]},
                                                 {"code", before_code}}))["status"] == "approved");
    json after = require_success(on_b("/verify/send", {{"to", us_number(33102)}}), 201);
    const std::string after_code = a.sandbox_code(a.key(kTestA), after["id"]);
    CHECK(require_success(a.check(a.key(kTestA), after["id"], after_code))["status"] == "approved");
    // B's send is A's number's current verification: the cooldown holds on A.
    require_error(a.send(a.key(kTestA), {{"to", us_number(33102)}}), 429, 4043);
}

TEST_CASE(
    "a code sent during a rotation checks on a replica that has only the old key or only "
    "the new one") {
    KeyFiles keys;
    VerifydInstance v(keys.settings());
    keys.rotate();
    wait_for_reloads(v.process(), 1);
    json first = v.send_ok(v.key(kTestA), us_number(33201));
    const std::string first_code = v.sandbox_code(v.key(kTestA), first["id"]);
    json second = v.send_ok(v.key(kTestA), us_number(33202));
    const std::string second_code = v.sandbox_code(v.key(kTestA), second["id"]);

    // As a replica that has not yet re-read the files: the old key alone.
    replace_file(keys.current, keys.first_key);
    replace_file(keys.previous, "");
    wait_for_reloads(v.process(), 2);
    CHECK(require_success(v.check(v.key(kTestA), first["id"], first_code))["status"] == "approved");

    // As a replica that has already dropped the previous key: the new key alone.
    replace_file(keys.current, keys.second_key);
    wait_for_reloads(v.process(), 3);
    CHECK(require_success(v.check(v.key(kTestA), second["id"], second_code))["status"] ==
          "approved");
}

TEST_CASE("a hash key that opens no number key in Redis keeps verifyd unready and says why") {
    KeyFiles keys;
    VerifydInstance v(keys.settings());
    v.stop();
    replace_file(keys.current, keys.second_key);
    v.restart();
    HttpResponse ready = v.get("/readyz");
    CHECK(ready.status == 503);
    require_error(v.send(v.key(kTestA), {{"to", us_number(33301)}}), 503, 5000);
    // Log lines reach the log from a writer thread a moment after they are made.
    CHECK(wait_until(
        [&] { return v.log().find("VERIFYD_HASH_KEY_PREVIOUS_FILE") != std::string::npos; },
        std::chrono::seconds(2)));
}
