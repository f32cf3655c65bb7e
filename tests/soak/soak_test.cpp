// Soak test: SOAK_SECONDS (default 60) of mixed load from several threads against the real
// verifyd and a real redis-server on loopback, while Redis is killed and started again on
// the same port twice. It requires that verifyd stays up and exits 0 on SIGTERM; that no
// request answers a 5xx other than 503 with retry_after, and that one only while Redis is
// down or just back; that requests succeed again after each restart; and that no check is
// ever approved except with the code read back from the sandbox for that verification.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "support/api_checks.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kThreads = 4;
constexpr int kNumbersPerThread = 1000;  // us_number has 10000; each thread has its own
constexpr int kRedisRestarts = 2;
// verifyd's workers reconnect with a backoff of up to a second; a 503 this long after
// Redis is back still belongs to the outage.
constexpr auto kRecoveryGrace = std::chrono::seconds(10);
// Codes of 10 digits: a code that was not read back matches by chance once in 10^10.
constexpr int kCodeLength = 10;
// With no expired grace, Redis holds a minute of verifications however long the soak.
constexpr int kTtlSeconds = 60;

int soak_seconds() {
    const char* text = std::getenv("SOAK_SECONDS");
    return text == nullptr ? 60 : std::atoi(text);
}

// The Redis outages, as the load threads see them.
class Outages {
  public:
    // Called before Redis is killed.
    void begin() { ++kills_; }
    // Called once Redis answers again.
    void end() {
        back_at_ = Clock::now().time_since_epoch().count();
        ++restarts_;
    }
    int kills() const { return kills_; }
    int restarts() const { return restarts_; }
    // Whether a 503 received now is explained by an outage: Redis is down or just back.
    bool explain_unavailable() const {
        const Clock::time_point back{Clock::duration(back_at_.load())};
        return kills_ > restarts_ || (restarts_ > 0 && Clock::now() - back < kRecoveryGrace);
    }

  private:
    std::atomic<int> kills_{0};
    std::atomic<int> restarts_{0};
    std::atomic<Clock::rep> back_at_{0};
};

// What went wrong, from any thread; the first few are kept word for word.
class Findings {
  public:
    void add(const std::string& what) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (++count_ <= 20) {
            text_ += what + "\n";
        }
    }
    int count() const { return count_; }
    std::string text() const { return text_; }

  private:
    std::mutex mutex_;
    int count_ = 0;
    std::string text_;
};

// What one load thread saw; the main thread adds them up after joining.
struct Tally {
    long sends = 0;
    long approvals = 0;
    long wrong_codes_refused = 0;
    long replays_refused = 0;
    long unavailable = 0;  // 503 explained by an outage
    long vanished = 0;     // 4040 or no message for a verification that an outage lost
    long sends_by_phase[kRedisRestarts + 1] = {};  // phase: restarts done when a send began
};

// One load thread: rounds of send, read the sandbox code (by id or from the number's
// messages), a wrong check (in most rounds), a right check (by id or by number) and, in
// some rounds, a replay of the right code. Each thread has its own numbers, so no other
// thread's send supersedes its verifications.
class Loader {
  public:
    Loader(VerifydInstance& v, int index, const Outages& outages, Findings& findings)
        : client_(v.client(std::chrono::seconds(5))),
          key_(v.key(kTestA)),
          index_(index),
          outages_(outages),
          findings_(findings) {}

    void run(Clock::time_point deadline, const std::atomic<bool>& stop) {
        for (int round = 0; Clock::now() < deadline && !stop; ++round) {
            try {
                play(round);
            } catch (const std::exception& e) {
                // No answer in time, or an answer without the contract's shape.
                findings_.add(where(round) + ": " + e.what());
                client_.close();
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
    }

    Tally tally;

  private:
    std::string where(int round) const {
        return "thread " + std::to_string(index_) + " round " + std::to_string(round);
    }

    HttpResponse post(const std::string& path, const json& body) {
        return post_json(client_, path, key_, body);
    }

    // Whether a response is the one expected; when it is not, it is counted if an outage
    // explains it (503 / 5000 with retry_after, or 4040 once Redis may have lost the
    // verification) and is a finding otherwise.
    bool expected(const HttpResponse& response, int status, const std::string& what,
                  int kills_at_send) {
        if (response.status == status) {
            return true;
        }
        const json body = response.json();
        const json error = body.is_object() && body.contains("error") && body["error"].is_object()
                               ? body["error"]
                               : json::object();
        const int code = error.value("code", 0);
        if (response.status == 503 && code == 5000 && error.value("retry_after", 0) >= 1 &&
            response.header("Retry-After") && outages_.explain_unavailable()) {
            ++tally.unavailable;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            return false;
        }
        if (response.status == 404 && code == 4040 && outages_.kills() > kills_at_send) {
            ++tally.vanished;
            return false;
        }
        findings_.add(what + ": expected " + std::to_string(status) + ", got " +
                      std::to_string(response.status) + " " + response.body);
        return false;
    }

    void play(int round) {
        const std::string to = us_number(index_ * kNumbersPerThread + round % kNumbersPerThread);
        const std::string at = where(round) + " (" + to + ")";
        const int kills_at_send = outages_.kills();
        const int phase = outages_.restarts();
        HttpResponse sent = post("/verify/send", {{"to", to},
                                                  {"code_length", kCodeLength},
                                                  {"ttl_seconds", kTtlSeconds},
                                                  {"sandbox", true}});
        if (!expected(sent, 201, at + " send", kills_at_send)) {
            return;
        }
        ++tally.sends;
        ++tally.sends_by_phase[phase];
        const std::string id = sent.json()["data"].value("id", "");

        const std::string code = read_code(round, id, to, at, kills_at_send);
        if (code.empty()) {
            return;
        }
        if (round % 4 != 3) {
            std::string wrong = code;
            wrong.back() = static_cast<char>('0' + (wrong.back() - '0' + 1) % 10);
            HttpResponse checked = post("/verify/check", {{"id", id}, {"code", wrong}});
            if (!expected(checked, 200, at + " wrong check", kills_at_send)) {
                return;
            }
            const json data = checked.json()["data"];
            if (data.value("verified", true) || data.value("status", "") == "approved") {
                findings_.add(at + ": APPROVED WITH A WRONG CODE: " + checked.body);
                return;
            }
            ++tally.wrong_codes_refused;
        }
        const json right =
            round % 2 == 0 ? json{{"id", id}, {"code", code}} : json{{"to", to}, {"code", code}};
        HttpResponse checked = post("/verify/check", right);
        if (!expected(checked, 200, at + " right check", kills_at_send)) {
            return;
        }
        const json data = checked.json()["data"];
        if (data.value("status", "") != "approved" || !data.value("verified", false) ||
            data.value("id", "") != id) {
            findings_.add(at + ": the right code for " + id + " was not approved: " + checked.body);
            return;
        }
        ++tally.approvals;
        if (round % 5 == 0) {
            HttpResponse replayed = post("/verify/check", {{"id", id}, {"code", code}});
            if (expected(replayed, 404, at + " replayed check", kills_at_send)) {
                ++tally.replays_refused;
            }
        }
    }

    // The sandbox code of verification `id`: data.template_variables.code of GET
    // /verify/{id}, or template.variables.code of the number's newest message. Empty when
    // it cannot be read.
    std::string read_code(int round, const std::string& id, const std::string& to,
                          const std::string& at, int kills_at_send) {
        json variables;
        if (round % 3 != 2) {
            HttpResponse read = client_.get("/verify/" + id, bearer(key_));
            if (!expected(read, 200, at + " read", kills_at_send)) {
                return "";
            }
            variables = read.json()["data"].value("template_variables", json::object());
        } else {
            HttpResponse listed =
                client_.get("/messages?to=%2B" + to.substr(1) + "&limit=1", bearer(key_));
            if (!expected(listed, 200, at + " list", kills_at_send)) {
                return "";
            }
            const json messages = listed.json()["data"].value("messages", json::array());
            if (messages.empty() && outages_.kills() > kills_at_send) {
                ++tally.vanished;
                return "";
            }
            if (messages.empty() || messages[0].value("verification_id", "") != id) {
                findings_.add(at + ": the newest message is not " + id + "'s: " + listed.body);
                return "";
            }
            variables = messages[0].value("template", json::object()).value("variables", json());
        }
        const std::string code = variables.is_object() ? variables.value("code", "") : "";
        if (code.size() != kCodeLength ||
            code.find_first_not_of("0123456789") != std::string::npos) {
            findings_.add(at + ": no " + std::to_string(kCodeLength) + "-digit sandbox code for " +
                          id + ": " + variables.dump());
            return "";
        }
        return code;
    }

    HttpClient client_;
    const std::string key_;
    const int index_;
    const Outages& outages_;
    Findings& findings_;
};

// The load threads, stopped and joined however the test ends.
class LoadThreads {
  public:
    LoadThreads(VerifydInstance& v, const Outages& outages, Findings& findings,
                Clock::time_point deadline) {
        for (int i = 0; i < kThreads; ++i) {
            loaders_.push_back(std::make_unique<Loader>(v, i, outages, findings));
        }
        for (auto& loader : loaders_) {
            threads_.emplace_back([this, &loader, deadline] { loader->run(deadline, stop_); });
        }
    }
    ~LoadThreads() {
        stop_ = true;
        join();
    }
    void join() {
        for (auto& thread : threads_) {
            if (thread.joinable()) {
                thread.join();
            }
        }
    }
    // Every thread's tally added up; only after join().
    Tally total() const {
        Tally sum;
        for (const auto& loader : loaders_) {
            const Tally& t = loader->tally;
            sum.sends += t.sends;
            sum.approvals += t.approvals;
            sum.wrong_codes_refused += t.wrong_codes_refused;
            sum.replays_refused += t.replays_refused;
            sum.unavailable += t.unavailable;
            sum.vanished += t.vanished;
            for (int phase = 0; phase <= kRedisRestarts; ++phase) {
                sum.sends_by_phase[phase] += t.sends_by_phase[phase];
            }
        }
        return sum;
    }

  private:
    std::atomic<bool> stop_{false};
    std::vector<std::unique_ptr<Loader>> loaders_;
    std::vector<std::thread> threads_;
};

// Seconds until a send, a read and a right check succeed in a row (bounded by `limit`);
// nothing when they do not within it.
std::optional<double> time_to_round_trip(VerifydInstance& v, std::chrono::seconds limit) {
    const auto start = Clock::now();
    for (int i = 0; Clock::now() - start < limit; ++i) {
        const std::string to = us_number(kThreads * kNumbersPerThread + i % 100);
        try {
            HttpResponse sent = v.send(v.key(kTestA), {{"to", to}});
            if (sent.status == 201) {
                const std::string id = sent.json()["data"].value("id", "");
                const std::string code = v.sandbox_code(v.key(kTestA), id);
                HttpResponse checked = v.check(v.key(kTestA), id, code);
                if (checked.status == 200 && checked.json()["data"].value("verified", false)) {
                    return std::chrono::duration<double>(Clock::now() - start).count();
                }
            }
        } catch (const std::runtime_error&) {
            // Not yet: no code to read back, or no answer in time.
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE(
    "under mixed load while Redis restarts twice verifyd stays up, recovers and never "
    "approves a wrong code") {
    const int seconds = soak_seconds();
    REQUIRE(seconds >= 20);
    VerifydInstance v(Settings{
        {"VERIFYD_SEND_LIMITS", "1000000/60"},
        {"VERIFYD_RESEND_COOLDOWN", "0"},
        {"VERIFYD_KEY_RPM", "100000000"},
        {"VERIFYD_EXPIRED_GRACE", "0"},
        {"VERIFYD_REDIS_TIMEOUT_MS", "1000"},
        {"VERIFYD_LOG_LEVEL", "warn"},
    });
    Outages outages;
    Findings findings;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::seconds(seconds);
    const auto outage_length = std::chrono::seconds(std::min(5, std::max(2, seconds / 24)));
    std::vector<double> recoveries;
    HttpClient monitor = v.client();
    {
        LoadThreads load(v, outages, findings, deadline);
        for (int restart = 0; restart < kRedisRestarts; ++restart) {
            std::this_thread::sleep_until(
                start + std::chrono::milliseconds(seconds * (restart == 0 ? 250 : 600)));
            outages.begin();
            v.redis().kill();
            std::this_thread::sleep_for(outage_length / 2);
            CHECK(monitor.get("/healthz").status == 200);
            CHECK(monitor.get("/readyz").status == 503);
            std::this_thread::sleep_for(outage_length / 2);
            v.redis().start();
            outages.end();
            auto recovered = time_to_round_trip(v, std::chrono::seconds(30));
            INFO("restart " << restart + 1);
            REQUIRE(recovered);
            recoveries.push_back(*recovered);
        }
        load.join();
        const Tally total = load.total();
        WARN("soak: " << seconds << " s, " << total.sends << " sends, " << total.approvals
                      << " approvals, " << total.wrong_codes_refused << " wrong codes and "
                      << total.replays_refused << " replays refused, " << total.unavailable
                      << " answers 503 during outages, " << total.vanished
                      << " verifications lost with Redis; sends before/between/after the "
                         "restarts: "
                      << total.sends_by_phase[0] << "/" << total.sends_by_phase[1] << "/"
                      << total.sends_by_phase[2] << "; round trip again " << recoveries[0]
                      << " s and " << recoveries[1] << " s after the restarts");
        INFO(findings.text());
        CHECK(findings.count() == 0);
        CHECK(total.approvals > 0);
        CHECK(total.wrong_codes_refused > 0);
        CHECK(total.unavailable > 0);
        for (int phase = 0; phase <= kRedisRestarts; ++phase) {
            INFO("sends after restart " << phase);
            CHECK(total.sends_by_phase[phase] > 0);
        }
    }
    REQUIRE(v.process().running());
    CHECK(monitor.get("/healthz").status == 200);
    CHECK(monitor.get("/readyz").status == 200);
    monitor.close();
    const ExitStatus stopped = v.stop();
    INFO(v.log());
    CHECK(stopped.exited);
    CHECK(stopped.code == 0);
}
