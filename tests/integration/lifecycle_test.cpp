// The process lifecycle (README "High availability"): graceful shutdown — after SIGTERM
// /readyz fails at once while /healthz and the API go on for VERIFYD_SHUTDOWN_DELAY_MS,
// a request in flight is answered, and the process exits 0, promptly without a delay, on
// SIGTERM and SIGINT alike — and secrets rotation: the keys file and the hash key file
// are re-read on SIGHUP and by themselves when replaced on disk (renamed over, or a
// Kubernetes Secret's symlink swap); keys added, removed and revoked take effect, and a
// malformed file is refused with an error line while the old keys stay in force.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "support/api_checks.hpp"
#include "support/raw_connection.hpp"
#include "support/temp_dir.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a replaced file may take to be noticed ("within a second" in the README, so
// one poll interval and a margin), and a SIGHUP to be acted on.
constexpr auto kReloadTimeout = milliseconds(2500);
constexpr auto kSighupTimeout = milliseconds(1000);

// A listing every key with verify:read may make: 200 with a valid key.
constexpr const char* kListing = "/messages?to=%2B14155550100";

HttpResponse list_messages(VerifydInstance& v, const std::string& api_key) {
    HttpClient client = v.client(seconds(5));
    return client.get(kListing, bearer(api_key));
}

// Lists with `api_key` until the answer has `status`, within `timeout`; the last answer.
HttpResponse wait_for_status(VerifydInstance& v, const std::string& api_key, int status,
                             milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        HttpResponse response = list_messages(v, api_key);
        if (response.status == status || Clock::now() >= deadline) {
            return response;
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
}

// A keys-file entry of account A for `key` (test mode, every scope).
json key_entry(const std::string& id, const std::string& key, bool revoked = false) {
    return {{"id", id},
            {"account", kAccountA},
            {"hash", key_file_hash(key)},
            {"mode", "test"},
            {"revoked", revoked}};
}

// `keys`' keys file without the entry of `left_out`, with `extra` appended.
std::string keys_file_without(const TestKeys& keys, const std::string& left_out,
                              const std::vector<json>& extra) {
    json file = json::parse(keys.keys_file(extra));
    json kept = json::array();
    for (const auto& entry : file["keys"]) {
        if (entry.value("id", "") != "key_" + left_out) {
            kept.push_back(entry);
        }
    }
    file["keys"] = kept;
    return file.dump(2);
}

// A Kubernetes Secret volume as the kubelet writes it: each version of the files in a
// directory of its own, `..data` a symlink to the current one, and every file a symlink
// through `..data`. An update writes a new version and renames a new `..data` over the
// old one, then deletes the old version.
class SecretVolume {
  public:
    SecretVolume(const std::string& file_name, const std::string& text)
        : dir_("verifyd-secret"), file_name_(file_name) {
        write_version(text);
        REQUIRE(symlink(version_name().c_str(), dir_.file("..data").c_str()) == 0);
        REQUIRE(symlink(("..data/" + file_name_).c_str(), path().c_str()) == 0);
    }

    std::string path() const { return dir_.file(file_name_); }

    void update(const std::string& text) {
        const std::string old_version = dir_.file(version_name());
        ++version_;
        write_version(text);
        const std::string temporary = dir_.file("..data_tmp");
        REQUIRE(symlink(version_name().c_str(), temporary.c_str()) == 0);
        REQUIRE(std::rename(temporary.c_str(), dir_.file("..data").c_str()) == 0);
        std::filesystem::remove_all(old_version);
    }

  private:
    std::string version_name() const { return "..2026_11_25_10_00_0" + std::to_string(version_); }
    void write_version(const std::string& text) {
        std::filesystem::create_directory(dir_.file(version_name()));
        write_file(dir_.file(version_name()) + "/" + file_name_, text);
    }

    TempDir dir_;
    std::string file_name_;
    int version_ = 1;
};

// Sends SIGTERM or SIGINT to a verifyd without a shutdown delay: it exits 0 within 3 s.
void require_prompt_exit(int signal_number) {
    VerifydInstance v;
    v.send_ok(v.key(kTestA), us_number(8051));
    const auto signalled = Clock::now();
    v.process().send_signal(signal_number);
    auto status = v.process().wait_for(seconds(3));
    INFO(v.log());
    REQUIRE(status.has_value());
    INFO(status->describe()
         << " after " << std::chrono::duration_cast<milliseconds>(Clock::now() - signalled).count()
         << " ms");
    CHECK(status->exited);
    CHECK(status->code == 0);
}

// A send is in flight when verifyd stops accepting (at SIGTERM, or when the shutdown
// delay ends): Redis is paused under it from 1 s before (time enough for a loaded machine
// to have it read) until 300 ms after, and it then completes within the Redis timeout. It
// must get its answer, and verifyd exit 0.
void require_in_flight_answered(int delay_ms) {
    VerifydInstance v(Settings{{"VERIFYD_REDIS_TIMEOUT_MS", "3000"},
                               {"VERIFYD_SHUTDOWN_DELAY_MS", std::to_string(delay_ms)}});
    const std::string key = v.key(kTestA);
    v.send_ok(key, us_number(8101));

    std::optional<HttpResponse> answer;
    std::string failure;
    std::thread request;
    auto start_request = [&] {
        v.redis().pause();
        request = std::thread([&] {
            try {
                HttpClient client = v.client(seconds(10));
                answer = post_json(client, "/verify/send", key, {{"to", us_number(8102)}});
            } catch (const std::exception& e) {
                failure = e.what();
            }
        });
    };
    const milliseconds lead(1000);
    if (delay_ms == 0) {
        start_request();
        std::this_thread::sleep_for(lead);
        v.process().send_signal(SIGTERM);
    } else {
        v.process().send_signal(SIGTERM);
        std::this_thread::sleep_for(milliseconds(delay_ms) - lead);
        start_request();
        std::this_thread::sleep_for(lead);
    }
    std::this_thread::sleep_for(milliseconds(300));
    v.redis().resume();
    request.join();

    auto status = v.process().wait_for(seconds(5));
    INFO(v.log());
    INFO("request: " << failure);
    REQUIRE(answer.has_value());
    INFO("answer: " << answer->status << " " << answer->body);
    CHECK(answer->status == 201);
    REQUIRE(status.has_value());
    CHECK(status->exited);
    CHECK(status->code == 0);
}
}  // namespace

TEST_CASE(
    "after SIGTERM with a shutdown delay readyz fails at once while the API goes on, "
    "then verifyd exits 0") {
    // Long enough for what is done inside it on a loaded machine.
    const milliseconds delay(4000);
    VerifydInstance v(Settings{{"VERIFYD_SHUTDOWN_DELAY_MS", std::to_string(delay.count())}});
    const std::string& key = v.key(kTestA);
    json before = v.send_ok(key, us_number(8001));
    REQUIRE(v.get("/readyz").status == 200);

    const auto signalled = Clock::now();
    v.process().send_signal(SIGTERM);
    int ready = 0;
    while (Clock::now() - signalled < seconds(1)) {
        ready = v.client(seconds(5)).get("/readyz").status;
        if (ready == 503) {
            break;
        }
        std::this_thread::sleep_for(milliseconds(5));
    }
    CHECK(ready == 503);

    // During the delay: health, a new verification end to end, one made before the signal,
    // on the fixture's kept-alive connection and on new ones alike.
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(v.client(seconds(5)).get("/healthz").status == 200);
    CHECK(v.get("/healthz").status == 200);
    json during = v.send_ok(key, us_number(8002));
    const std::string code = v.sandbox_code(key, during["id"]);
    CHECK(require_success(v.check(key, during["id"], code)).value("status", "") == "approved");
    HttpClient fresh = v.client(seconds(5));
    const std::string before_code = v.sandbox_code(key, before["id"]);
    HttpResponse checked =
        post_json(fresh, "/verify/check", key, {{"id", before["id"]}, {"code", before_code}});
    CHECK(require_success(checked).value("status", "") == "approved");
    CHECK(v.client(seconds(5)).get("/readyz").status == 503);
    // All of that was inside the delay.
    CHECK(Clock::now() - signalled < delay - milliseconds(100));

    auto status = v.process().wait_for(delay + seconds(4));
    const auto exited_after = Clock::now() - signalled;
    INFO(v.log());
    REQUIRE(status.has_value());
    INFO(status->describe() << " after "
                            << std::chrono::duration_cast<milliseconds>(exited_after).count()
                            << " ms");
    CHECK(status->exited);
    CHECK(status->code == 0);
    CHECK(exited_after >= delay - milliseconds(50));
    CHECK(exited_after < delay + seconds(3));
}

TEST_CASE(
    "while draining, a kept-alive connection's next answer says close and verifyd ends the "
    "connection, so that its client reconnects to a replica that stays") {
    VerifydInstance v(Settings{{"VERIFYD_SHUTDOWN_DELAY_MS", "6000"}});
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    RawConnection kept(v.port());
    REQUIRE(kept.write(request));
    REQUIRE(kept.read_until_received("\"success\":true}", seconds(5)));
    CHECK(kept.received().find("Connection: Keep-Alive") != std::string::npos);

    v.process().send_signal(SIGTERM);
    const auto signalled = Clock::now();
    while (v.client(seconds(5)).get("/readyz").status != 503 &&
           Clock::now() - signalled < seconds(2))
        std::this_thread::sleep_for(milliseconds(5));
    const size_t first_answer = kept.received().size();
    REQUIRE(kept.write(request));
    CHECK(kept.read_until_closed(seconds(3)));
    const std::string second = kept.received().substr(first_answer);
    INFO(second);
    CHECK(second.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(second.find("Connection: Close") != std::string::npos);
    // Well inside the delay: the end was verifyd's, not the listener's closing.
    CHECK(Clock::now() - signalled < milliseconds(4500));
}

TEST_CASE(
    "a kept-alive connection whose request was in flight when the draining began is ended "
    "after its answer") {
    VerifydInstance v(
        Settings{{"VERIFYD_SHUTDOWN_DELAY_MS", "6000"}, {"VERIFYD_REDIS_TIMEOUT_MS", "5000"}});
    RawConnection kept(v.port());
    // Redis holds the send's calls, so that the draining begins while it is in flight.
    v.redis().command({"CLIENT", "PAUSE", "1500", "WRITE"});
    REQUIRE(kept.write(send_request_bytes(v.key(kTestA), us_number(8201))));
    std::this_thread::sleep_for(milliseconds(200));
    v.process().send_signal(SIGTERM);
    const auto signalled = Clock::now();
    CHECK(kept.read_until_closed(seconds(4)));
    INFO(kept.received().substr(0, 400));
    CHECK(kept.received().rfind("HTTP/1.1 201", 0) == 0);
    CHECK(kept.received().find("Connection: Close") != std::string::npos);
    // Well inside the delay: the end was verifyd's, not the listener's closing.
    CHECK(Clock::now() - signalled < milliseconds(4500));
}

TEST_CASE("a request in flight at shutdown is answered before verifyd exits") {
    require_in_flight_answered(0);
}

TEST_CASE("a request in flight when the shutdown delay ends is answered before verifyd exits") {
    require_in_flight_answered(1500);
}

TEST_CASE("without a shutdown delay verifyd exits 0 within 3 s of SIGTERM") {
    require_prompt_exit(SIGTERM);
}

TEST_CASE("without a shutdown delay verifyd exits 0 within 3 s of SIGINT") {
    require_prompt_exit(SIGINT);
}

TEST_CASE(
    "a keys file renamed over the old one is reloaded: keys added, removed and revoked "
    "take effect") {
    TempDir dir("verifyd-reload");
    TestKeys keys;
    const std::string path = dir.file("keys.json");
    write_file(path, keys.keys_file());
    VerifydInstance v(Settings{{"VERIFYD_API_KEYS_FILE", path}});
    const std::string added = random_api_key(false);
    require_error(list_messages(v, added), 401, 4011);
    require_success(list_messages(v, keys.key(kTestA)));

    replace_file(path, keys.keys_file({key_entry("key_added", added)}));
    require_success(wait_for_status(v, added, 200, kReloadTimeout));
    require_success(list_messages(v, keys.key(kTestA)));

    // Then test_a's entry goes and the added key is revoked.
    replace_file(path, keys_file_without(keys, kTestA, {key_entry("key_added", added, true)}));
    require_error(wait_for_status(v, keys.key(kTestA), 401, kReloadTimeout), 401, 4011);
    require_error(wait_for_status(v, added, 401, kReloadTimeout), 401, 4012);
    require_success(list_messages(v, keys.key(kTestB)));
    CHECK(v.process().running());
}

TEST_CASE(
    "SIGHUP reloads the keys file even when its size and modification time are "
    "unchanged") {
    TempDir dir("verifyd-reload");
    TestKeys keys;
    const std::string path = dir.file("keys.json");
    const std::string original = keys.keys_file();
    write_file(path, original);
    VerifydInstance v(Settings{{"VERIFYD_API_KEYS_FILE", path}});

    // The same file with test_a's hash swapped for another key's: same length, same inode,
    // and the old modification time put back, so only the signal can announce it.
    const std::string replacement_key = random_api_key(false);
    std::string swapped = original;
    const std::string old_hash = key_file_hash(keys.key(kTestA));
    const size_t at = swapped.find(old_hash);
    REQUIRE(at != std::string::npos);
    swapped.replace(at, old_hash.size(), key_file_hash(replacement_key));
    struct stat before {};
    REQUIRE(stat(path.c_str(), &before) == 0);
    write_file(path, swapped);
    const timespec times[2] = {before.st_atim, before.st_mtim};
    REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
    require_error(list_messages(v, replacement_key), 401, 4011);

    v.process().send_signal(SIGHUP);
    require_success(wait_for_status(v, replacement_key, 200, kSighupTimeout));
    require_error(wait_for_status(v, keys.key(kTestA), 401, kSighupTimeout), 401, 4011);
    require_success(list_messages(v, keys.key(kTestB)));
    CHECK(v.process().running());
}

TEST_CASE(
    "a malformed keys file is not reloaded: an error is logged and the old keys stay in "
    "force") {
    TempDir dir("verifyd-reload");
    TestKeys keys;
    const std::string path = dir.file("keys.json");
    write_file(path, keys.keys_file());
    VerifydInstance v(Settings{{"VERIFYD_API_KEYS_FILE", path}});
    const std::string added = random_api_key(false);
    REQUIRE(count_log_lines(v.log(), "error", "not reloaded") == 0);

    SECTION("not JSON, noticed on disk") {
        replace_file(path, "{\"keys\": [ this is not JSON");
        INFO(v.log());
        CHECK(wait_for_log_lines(v.process(), "error", "not reloaded", 1, kReloadTimeout));
        require_success(list_messages(v, keys.key(kTestA)));
    }
    SECTION("an entry without hash, announced by SIGHUP") {
        // Were the file taken in part, test_a would go and the added key would work.
        json hashless = key_entry("key_hashless", random_api_key(false));
        hashless.erase("hash");
        replace_file(path,
                     keys_file_without(keys, kTestA, {key_entry("key_added", added), hashless}));
        v.process().send_signal(SIGHUP);
        INFO(v.log());
        CHECK(wait_for_log_lines(v.process(), "error", "not reloaded", 1, kReloadTimeout));
        require_success(list_messages(v, keys.key(kTestA)));
        require_error(list_messages(v, added), 401, 4011);
    }

    // A good file after a refused one is taken.
    replace_file(path, keys.keys_file({key_entry("key_added", added)}));
    require_success(wait_for_status(v, added, 200, kReloadTimeout));
    CHECK(v.process().running());
}

TEST_CASE("a keys file in a Kubernetes Secret volume is reloaded when the Secret changes") {
    TestKeys keys;
    SecretVolume secret("keys.json", keys.keys_file());
    VerifydInstance v(Settings{{"VERIFYD_API_KEYS_FILE", secret.path()}});
    const std::string added = random_api_key(false);
    require_error(list_messages(v, added), 401, 4011);

    secret.update(keys_file_without(keys, kTestA, {key_entry("key_added", added)}));
    require_success(wait_for_status(v, added, 200, kReloadTimeout));
    require_error(wait_for_status(v, keys.key(kTestA), 401, kReloadTimeout), 401, 4011);
}

TEST_CASE(
    "a rotated hash key file is reloaded: new sends work and pending codes stop "
    "matching") {
    TempDir dir("verifyd-reload");
    const std::string path = dir.file("hash.key");
    write_file(path, random_hex(32) + "\n");
    VerifydInstance v(
        Settings{{"VERIFYD_HASH_KEY", std::nullopt}, {"VERIFYD_HASH_KEY_FILE", path}});
    const std::string& key = v.key(kTestA);
    json pending = v.send_ok(key, us_number(8201));
    const std::string pending_code = v.sandbox_code(key, pending["id"]);

    replace_file(path, random_hex(32) + "\n");
    // The reload's log line is written once the new key is in force.
    REQUIRE(wait_for_log_lines(v.process(), "info", "credentials reloaded", 1, seconds(10)));

    json fresh = v.send_ok(key, us_number(8202));
    const std::string code = v.sandbox_code(key, fresh["id"]);
    CHECK(require_success(v.check(key, fresh["id"], code)).value("status", "") == "approved");
    // README: rotating the hash key ends the verifications pending at that moment.
    json old = require_success(v.check(key, pending["id"], pending_code));
    CHECK(old.value("verified", true) == false);
    CHECK(old.value("status", "") != "approved");
    INFO(v.log());
    CHECK(count_log_lines(v.log(), "error", "not reloaded") == 0);
}
