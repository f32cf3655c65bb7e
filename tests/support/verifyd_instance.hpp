// One running verifyd for one test: a private redis-server, a keys file with the keys of
// test_keys.hpp, and the real binary (VERIFYD_BINARY) listening on a free loopback port
// with the `log` provider, plus whatever settings the test overrides. Construction
// returns once GET /healthz answers 200. Request helpers speak the contract's JSON API.
// A verifyd built with sanitizers gets the test's ASAN/UBSAN/LSAN_OPTIONS, and a fixture
// whose verifyd logs a sanitizer report fails the test when it is destroyed.
// Not for: assertions on responses (api_checks.hpp) or instances shared between tests.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace verifyd_test {

// Setting overrides: a value replaces the fixture's, nothing removes the variable.
using Settings = std::map<std::string, std::optional<std::string>>;

// The environment verifyd gets from the fixture: listen address, Redis URL, a random
// hash key, the keys file, the log provider and two threads, the fraud guard's
// thresholds out of reach (it still judges and counts every send), and the sanitizer options
// (ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS) of the test's own environment.
Environment base_environment(int listen_port, const std::string& redis_url,
                             const std::string& keys_file_path);
// `base` with `overrides` applied.
Environment apply_settings(Environment base, const Settings& overrides);

// The first sanitizer report in a process's log ("ERROR: AddressSanitizer",
// "LeakSanitizer", "runtime error:") and what follows it; nothing when there is none.
std::optional<std::string> sanitizer_report(const std::string& log);

// The lines of a verifyd log that are JSON objects at `level` whose msg contains `words`.
size_t count_log_lines(const std::string& log, const std::string& level, const std::string& words);
// Polls a verifyd's log every 50 ms until it has `count` such lines; false once `timeout`
// has passed.
bool wait_for_log_lines(const Process& process, const std::string& level, const std::string& words,
                        size_t count, std::chrono::milliseconds timeout);

// `Authorization: Bearer <key>`.
Headers bearer(const std::string& api_key);
// A JSON POST on any client (one per thread in concurrency tests).
HttpResponse post_json(HttpClient& client, const std::string& path, const std::string& api_key,
                       const nlohmann::json& body);

struct InstanceOptions {
    Settings settings;
    std::vector<nlohmann::json> extra_key_entries;  // appended to the keys file
    int redis_db = 0;                               // the database of VERIFYD_REDIS_URL
};

class VerifydInstance {
  public:
    explicit VerifydInstance(InstanceOptions options = {});
    explicit VerifydInstance(Settings settings);
    ~VerifydInstance();
    VerifydInstance(const VerifydInstance&) = delete;
    VerifydInstance& operator=(const VerifydInstance&) = delete;

    const std::string& key(const std::string& name) const { return keys_.key(name); }
    int port() const { return port_; }
    RedisServer& redis() { return *redis_; }
    Process& process() { return *process_; }
    std::string log() const { return process_->log(); }
    // A new client with its own connection.
    HttpClient client(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

    // Requests on the fixture's own connection; an empty api_key sends no credentials.
    HttpResponse get(const std::string& path, const std::string& api_key = {},
                     const Headers& extra = {});
    HttpResponse post(const std::string& path, const std::string& api_key,
                      const nlohmann::json& body, const Headers& extra = {});
    HttpResponse post_raw(const std::string& path, const std::string& api_key,
                          const std::string& body, const Headers& extra = {});

    HttpResponse send(const std::string& api_key, const nlohmann::json& body);
    HttpResponse check(const std::string& api_key, const nlohmann::json& body);
    HttpResponse check(const std::string& api_key, const std::string& verification_id,
                       const std::string& code);
    HttpResponse get_verification(const std::string& api_key, const std::string& id);
    HttpResponse cancel(const std::string& api_key, const std::string& id);

    // POST /verify/send that must answer 201: returns `data` (throws otherwise, with the
    // response in the message). `extra` fields are merged into {"to": to}.
    nlohmann::json send_ok(const std::string& api_key, const std::string& to,
                           const nlohmann::json& extra = nlohmann::json::object());
    // The code of a sandbox verification: data.template_variables.code of GET /verify/{id}.
    std::string sandbox_code(const std::string& api_key, const std::string& verification_id);
    // The code the `log` provider delivered for a live message: waits (bounded) for the
    // JSON log line that carries "message_id" and "variables": {"code": ...}.
    std::string live_code_from_log(const std::string& message_id,
                                   std::chrono::milliseconds wait = std::chrono::seconds(5));
    // Polls GET /verify/{id} until delivery.status is `status`; returns the last delivery.
    nlohmann::json wait_for_delivery(const std::string& api_key, const std::string& id,
                                     const std::string& status,
                                     std::chrono::milliseconds wait = std::chrono::seconds(5));

    // Starts another verifyd with the same settings (Redis, hash key, keys file) on its
    // own port, as a second replica; returns that port once it answers /healthz. It is
    // stopped with the fixture.
    int start_replica();

    // The replica that start_replica started `index`-th (from 0).
    Process& replica(size_t index) { return *replicas_.at(index); }

    // Stops verifyd (SIGTERM, bounded); the fixture's Redis keeps running.
    ExitStatus stop();
    // SIGKILL: verifyd ends at once, whatever it was doing; Redis keeps running.
    ExitStatus kill();
    // Starts verifyd again after stop() or kill(), with the same settings and the same
    // port (hence the same default delivery consumer name) unless another process took
    // it, appending to the same log; returns once /healthz answers.
    void restart();

  private:
    // Starts verifyd with env_ on `port`, or on a free port when it is 0 (retrying when
    // the port was taken), and waits for /healthz; throws with its log when it does not
    // come up.
    std::pair<std::unique_ptr<Process>, int> launch(const std::string& log_name, int port = 0);

    TempDir dir_;
    TestKeys keys_;
    std::unique_ptr<RedisServer> redis_;
    Environment env_;  // without VERIFYD_LISTEN, which each process gets its own of
    int port_ = 0;
    std::unique_ptr<Process> process_;
    std::vector<std::unique_ptr<Process>> replicas_;
    HttpClient client_;
};

}  // namespace verifyd_test
