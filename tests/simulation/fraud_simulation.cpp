// Fraud guard simulation: SMS pumping against the real verifyd binary and a real
// redis-server on loopback, with the guard's time compressed by short settings (§10.3 of
// the contract). Each scenario runs on a fresh instance: legitimate users in five
// countries, most of whom type their code, mixed with one attack whose codes nobody
// types, (a) inside one prefix, (b) spread over one country's prefixes, (c) paced inside
// one prefix to stay under VERIFYD_FRAUD_MAX_PENDING. It prints a Markdown table of how
// many attack sends were refused and how many legitimate ones; with --check it exits 1
// when a target is missed. Run with --help for the options.
// Not for: the guard's contract answer by answer (that is the integration tests' job), or
// throughput (bench/run.sh). Everything is sandbox traffic: nothing is delivered.

// It has a main of its own: the support library's fixtures need Catch2's implementation
// (support/catch_runner.cpp), not the tests' main (support/catch_main.cpp).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

// The error code of a paused prefix or country (§2).
constexpr int kDestinationPaused = 4032;
// A legitimate user who was sent a code types it with this probability, and never
// otherwise (the SMS went astray, they gave up).
constexpr double kLegitTypingShare = 0.85;
// Legitimate users type within this share of the settle time, as a person types within
// seconds where VERIFYD_FRAUD_SETTLE_SECONDS is minutes.
constexpr double kTypingDelayMin = 0.1;
constexpr double kTypingDelayMax = 0.4;
constexpr int kLegitThreads = 2;
// Pumping scripts fire many requests at once; three clients make the sends overlap.
constexpr int kAttackThreads = 3;
// Legitimate prefixes per country: few enough that the busiest get judged by the guard
// within a scenario, so that a false positive would show.
constexpr int kLegitPrefixesPerCountry = 8;
// A request that takes longer than this is a failure of the run, not a slow answer.
constexpr auto kRequestTimeout = std::chrono::seconds(10);
// A send answered 503 (Redis stalled on a busy machine) is sent again after its
// retry_after, as a login backend would, this many times at most.
constexpr int kUnavailableRetries = 3;

struct GuardSettings {
    int window_seconds = 600;
    int settle_seconds = 2;
    int min_sends = 10;
    double min_conversion = 0.2;
    int max_pending = 8;
    // Longer than any scenario, so that a pause lasts to the scenario's end.
    int block_seconds = 300;
};

struct Options {
    GuardSettings guard;
    // Attack sends per second in (a) and (b); unset: 3 × min_sends per settle time, so
    // that the sends made while the first ones settle stay below the country's threshold.
    std::optional<double> attack_rate;
    double legit_rate = 8;  // legitimate sends per second, over all countries
    uint64_t seed = 1;
    std::string scenarios = "abc";  // which of (a), (b), (c) to run
    bool every_pause = false;
    bool check = false;
};

// ---- Numbers ----

using Rng = std::mt19937_64;

int uniform_int(Rng& rng, int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(rng);
}

std::string random_digits(Rng& rng, int count) {
    std::string digits;
    for (int i = 0; i < count; ++i) {
        digits += static_cast<char>('0' + uniform_int(rng, 0, 9));
    }
    return digits;
}

char one_of(Rng& rng, const std::string& choices) {
    return choices[static_cast<size_t>(uniform_int(rng, 0, static_cast<int>(choices.size()) - 1))];
}

// A random prefix (the E.164 number without its last four digits) of mobile numbers that
// libphonenumber takes as valid and able to receive an OTP.
using PrefixMaker = std::function<std::string(Rng&)>;

struct Country {
    std::string iso;
    PrefixMaker make_prefix;
};

// The countries of legitimate traffic. The ranges keep clear of reserved or special
// ones (US N11 and 555 exchanges, the Isle of Man's 7624 inside +44).
const std::vector<Country>& legit_countries() {
    static const std::vector<Country> countries = {
        {"US",
         [](Rng& rng) {
             for (;;) {
                 const std::string exchange = one_of(rng, "23456789") + random_digits(rng, 2);
                 if (exchange.substr(1) != "11" && exchange != "555") {
                     return "+1201" + exchange;
                 }
             }
         }},
        {"GB",
         [](Rng& rng) {
             return "+4477" + std::string(1, one_of(rng, "1234567")) + random_digits(rng, 3);
         }},
        {"DE",
         [](Rng& rng) {
             return "+4915" + std::string(1, one_of(rng, "12579")) + random_digits(rng, 4);
         }},
        {"FR",
         [](Rng& rng) {
             return "+336" + std::string(1, one_of(rng, "0124578")) + random_digits(rng, 3);
         }},
        {"BR",
         [](Rng& rng) {
             return "+55119" + std::string(1, one_of(rng, "6789")) + random_digits(rng, 3);
         }},
    };
    return countries;
}

// Nigerian mobile operator codes (0803, 0806, …): the attacks' country, which has no
// legitimate traffic in the simulation.
const std::vector<std::string> kNigerianOperators = {
    "803", "806", "813", "816", "703", "706", "903", "906", "810", "814", "802", "808",
    "812", "708", "902", "805", "807", "815", "811", "905", "809", "817", "818", "909"};

// The one prefix of attacks (a) and (c): that of the contract's example number
// +2348031234567 without its last four digits. (The contract's text names "+23480312",
// a digit short: numbers of that prefix and four more digits are too short for Nigeria.)
constexpr const char* kAttackedPrefix = "+234803123";

std::string nigerian_prefix(Rng& rng) {
    const auto& op = kNigerianOperators[static_cast<size_t>(
        uniform_int(rng, 0, static_cast<int>(kNigerianOperators.size()) - 1))];
    return "+234" + op + random_digits(rng, 3);
}

// A number of that prefix. The sandbox's test numbers (…000102 to …000104) are left
// out: their messages take other delivery paths, which are not what is simulated here.
std::string number_in(Rng& rng, const std::string& prefix) {
    for (;;) {
        std::string number = prefix + random_digits(rng, 4);
        const std::string tail = number.substr(number.size() - 6);
        if (tail != "000102" && tail != "000103" && tail != "000104") {
            return number;
        }
    }
}

// ---- The plan of a scenario ----

enum class Actor { legit, attack };

struct PlannedSend {
    double at = 0;  // seconds from the scenario's start
    Actor actor = Actor::legit;
    std::string to;
    bool types_code = false;
    double typing_delay = 0;  // seconds from the send's answer to the check
};

enum class AttackKind { one_prefix, one_country, slow_one_prefix };

struct Scenario {
    std::string label;
    std::string description;
    AttackKind kind;
    double seconds = 0;      // how long sends are made
    double attack_rate = 0;  // attack sends per second
    int attack_threads = kAttackThreads;
    int first_refusal_bound = 0;      // attack sends accepted before the first refusal, at most
    bool judge_refused_share = true;  // whether ≥ 90% of attack sends must be refused
};

// Arrival times of a Poisson process at `rate` per second over [0, seconds).
std::vector<double> poisson_times(Rng& rng, double rate, double seconds) {
    std::vector<double> times;
    std::exponential_distribution<double> gap(rate);
    for (double t = gap(rng); t < seconds; t += gap(rng)) {
        times.push_back(t);
    }
    return times;
}

std::vector<PlannedSend> plan(const Scenario& scenario, const Options& options, Rng& rng) {
    std::vector<PlannedSend> sends;
    const double settle = options.guard.settle_seconds;

    // Legitimate traffic: a few prefixes per country, the first ones busier (as cities
    // are), every number used once so that no send supersedes another.
    std::vector<std::string> prefixes;
    std::vector<double> weights;
    for (const auto& country : legit_countries()) {
        std::set<std::string> chosen;
        while (static_cast<int>(chosen.size()) < kLegitPrefixesPerCountry) {
            chosen.insert(country.make_prefix(rng));
        }
        int rank = 0;
        for (const auto& prefix : chosen) {
            prefixes.push_back(prefix);
            weights.push_back(1.0 / ++rank);
        }
    }
    std::discrete_distribution<size_t> pick_prefix(weights.begin(), weights.end());
    std::bernoulli_distribution types(kLegitTypingShare);
    std::uniform_real_distribution<double> delay(kTypingDelayMin * settle,
                                                 kTypingDelayMax * settle);
    std::set<std::string> used;
    for (double at : poisson_times(rng, options.legit_rate, scenario.seconds)) {
        std::string to;
        do {
            to = number_in(rng, prefixes[pick_prefix(rng)]);
        } while (!used.insert(to).second);
        PlannedSend send{at, Actor::legit, to, types(rng), 0};
        send.typing_delay = delay(rng);
        sends.push_back(send);
    }

    // The attack: numbers at random, with repeats as a script picks them.
    std::vector<double> attack_times;
    if (scenario.kind == AttackKind::slow_one_prefix) {
        for (double t = 0; t < scenario.seconds; t += 1 / scenario.attack_rate) {
            attack_times.push_back(t);
        }
    } else {
        attack_times = poisson_times(rng, scenario.attack_rate, scenario.seconds);
    }
    for (double at : attack_times) {
        const std::string prefix =
            scenario.kind == AttackKind::one_country ? nigerian_prefix(rng) : kAttackedPrefix;
        sends.push_back({at, Actor::attack, number_in(rng, prefix), false, 0});
    }
    std::sort(sends.begin(), sends.end(),
              [](const PlannedSend& a, const PlannedSend& b) { return a.at < b.at; });
    return sends;
}

// ---- Running a scenario ----

struct SendOutcome {
    Actor actor = Actor::legit;
    int status = 0;      // HTTP status; 0 when no answer came
    int error_code = 0;  // error.code of an error answer
    Clock::time_point answered;
    Clock::duration latency{};
};

struct CheckOutcome {
    bool approved = false;
    std::string problem;  // what went wrong when not approved
};

// What one client thread saw; the main thread adds them up after joining.
struct ThreadRecord {
    std::vector<SendOutcome> sends;
    std::vector<CheckOutcome> checks;
    // Requests without an answer, and answers that are neither 201 nor 4032, word for
    // word: the guard is not the only thing that could refuse.
    std::vector<std::string> failures;
    long unavailable_retries = 0;
};

int error_code_of(const HttpResponse& response) {
    const json body = response.json();
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
        return body["error"].value("code", 0);
    }
    return 0;
}

// A 503's error.retry_after, at least a second and at most five, so that a scenario stays
// bounded in time.
std::chrono::seconds retry_after(const HttpResponse& response) {
    const json body = response.json();
    const json::json_pointer at("/error/retry_after");
    int seconds = 1;
    if (body.is_object() && body.contains(at) && body[at].is_number_integer()) {
        seconds = std::clamp(body[at].get<int>(), 1, 5);
    }
    return std::chrono::seconds(seconds);
}

// One client thread: makes its planned sends at their times and, for the legitimate
// users who type, reads the sandbox code and checks it after their typing delay. A client
// that fell behind (a busy machine) catches up at once, as a script does, unless
// `min_gap` keeps its sends apart: the slow attack's pacing is its point.
class Client {
  public:
    Client(const VerifydInstance& instance, std::string api_key, std::vector<PlannedSend> sends,
           Clock::duration min_gap = Clock::duration::zero())
        : http_(instance.client(kRequestTimeout)),
          api_key_(std::move(api_key)),
          sends_(std::move(sends)),
          min_gap_(min_gap) {}

    void run(Clock::time_point start, Clock::time_point deadline) {
        size_t next_send = 0;
        for (;;) {
            const bool send_left = next_send < sends_.size();
            if (!send_left && due_checks_.empty()) {
                return;
            }
            const Clock::time_point send_at =
                send_left ? std::max(start + std::chrono::duration_cast<Clock::duration>(
                                                 Seconds(sends_[next_send].at)),
                                     last_send_ + min_gap_)
                          : Clock::time_point::max();
            const bool check_first = !due_checks_.empty() && due_checks_.top().at <= send_at;
            const Clock::time_point at = check_first ? due_checks_.top().at : send_at;
            if (at > deadline) {
                return;
            }
            std::this_thread::sleep_until(at);
            if (check_first) {
                const DueCheck check = due_checks_.top();
                due_checks_.pop();
                record.checks.push_back(type_code(check.verification_id));
            } else {
                last_send_ = Clock::now();
                send(sends_[next_send++]);
            }
        }
    }

    ThreadRecord record;

  private:
    struct DueCheck {
        Clock::time_point at;
        std::string verification_id;
        bool operator>(const DueCheck& other) const { return at > other.at; }
    };

    void send(const PlannedSend& planned) {
        SendOutcome outcome{planned.actor, 0, 0, {}};
        const auto began = Clock::now();
        try {
            HttpResponse response =
                post_json(http_, "/verify/send", api_key_, json{{"to", planned.to}});
            for (int retry = 0; retry < kUnavailableRetries && response.status == 503; ++retry) {
                ++record.unavailable_retries;
                std::this_thread::sleep_for(retry_after(response));
                response = post_json(http_, "/verify/send", api_key_, json{{"to", planned.to}});
            }
            outcome.status = response.status;
            outcome.answered = Clock::now();
            if (response.status == 201) {
                if (planned.types_code) {
                    const std::string id = response.json()["data"].value("id", "");
                    due_checks_.push(
                        {outcome.answered + std::chrono::duration_cast<Clock::duration>(
                                                Seconds(planned.typing_delay)),
                         id});
                }
            } else {
                outcome.error_code = error_code_of(response);
                if (outcome.error_code != kDestinationPaused) {
                    record.failures.push_back("send to " + planned.to + " answered " +
                                              std::to_string(response.status) + " " +
                                              response.body);
                }
            }
        } catch (const std::exception& e) {
            outcome.answered = Clock::now();
            record.failures.push_back("send to " + planned.to + ": " + e.what());
            http_.close();
        }
        outcome.latency = outcome.answered - began;
        record.sends.push_back(outcome);
    }

    // What the user does with the SMS: reads the code (the sandbox keeps it readable in
    // GET /verify/{id}) and types it.
    CheckOutcome type_code(const std::string& verification_id) {
        try {
            const HttpResponse read = http_.get("/verify/" + verification_id, bearer(api_key_));
            const json code =
                read.json().value(json::json_pointer("/data/template_variables/code"), json());
            if (read.status != 200 || !code.is_string()) {
                return {false, "GET /verify/" + verification_id + ": " +
                                   std::to_string(read.status) + " " + read.body};
            }
            const HttpResponse checked =
                post_json(http_, "/verify/check", api_key_,
                          json{{"id", verification_id}, {"code", code.get<std::string>()}});
            const json data = checked.json().value("data", json::object());
            if (checked.status == 200 && data.value("status", "") == "approved") {
                return {true, ""};
            }
            return {false, "check of " + verification_id + ": " + std::to_string(checked.status) +
                               " " + checked.body};
        } catch (const std::exception& e) {
            http_.close();
            return {false, "check of " + verification_id + ": " + e.what()};
        }
    }

    HttpClient http_;
    std::string api_key_;
    std::vector<PlannedSend> sends_;
    Clock::duration min_gap_;
    Clock::time_point last_send_;
    std::priority_queue<DueCheck, std::vector<DueCheck>, std::greater<DueCheck>> due_checks_;
};

struct ScenarioResult {
    const Scenario* scenario = nullptr;
    long attack_sends = 0;
    long attack_refused = 0;  // 4032
    long attack_accepted = 0;
    std::optional<long> accepted_before_first_refusal;  // none when nothing was refused
    long legit_sends = 0;
    long legit_refused = 0;                      // any answer but 201, or none
    std::map<std::string, long> legit_refusals;  // "403/4032" → how many
    long legit_checks = 0;
    long legit_approved = 0;
    // A busy machine stalls requests, which bunches sends up at the guard: a too early
    // refusal of the slow attack may be that, not the guard.
    Clock::duration slowest_send{};
    long unavailable_retries = 0;
    std::vector<std::string> problems;     // the first few, word for word
    std::vector<std::string> pause_lines;  // verifyd's log lines about pauses
    std::vector<std::string> other_lines;  // and the rest of its warnings and errors

    double refused_share() const {
        return attack_sends == 0 ? 0 : static_cast<double>(attack_refused) / attack_sends;
    }
};

Settings instance_settings(const GuardSettings& guard) {
    std::ostringstream conversion;
    conversion << guard.min_conversion;
    return {
        {"VERIFYD_FRAUD_GUARD", "on"},
        {"VERIFYD_FRAUD_WINDOW", std::to_string(guard.window_seconds)},
        {"VERIFYD_FRAUD_SETTLE_SECONDS", std::to_string(guard.settle_seconds)},
        {"VERIFYD_FRAUD_MIN_SENDS", std::to_string(guard.min_sends)},
        {"VERIFYD_FRAUD_MIN_CONVERSION", conversion.str()},
        {"VERIFYD_FRAUD_MAX_PENDING", std::to_string(guard.max_pending)},
        {"VERIFYD_FRAUD_BLOCK_SECONDS", std::to_string(guard.block_seconds)},
        // Nothing but the guard may refuse: the attack repeats numbers, and every send
        // of a scenario goes through one key.
        {"VERIFYD_SEND_LIMITS", "1000000/60"},
        {"VERIFYD_RESEND_COOLDOWN", "0"},
        {"VERIFYD_KEY_RPM", "100000000"},
        // A line per request is not needed; pauses are logged at warn.
        {"VERIFYD_LOG_LEVEL", "warn"},
    };
}

// Sorts verifyd's log (at warn: pauses that start or end, §10.3, and whatever went wrong)
// into `result`, for the reader of a run that missed a target. The log provider's
// warning at start-up is left out: it says the same in every run.
void read_log(const std::string& log, ScenarioResult& result) {
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("fraud guard pause") != std::string::npos) {
            result.pause_lines.push_back(line);
        } else if (!line.empty() && line.find("VERIFYD_PROVIDER=log") == std::string::npos) {
            result.other_lines.push_back(line);
        }
    }
}

ScenarioResult run_scenario(const Scenario& scenario, const Options& options, Rng& rng) {
    const std::vector<PlannedSend> planned = plan(scenario, options, rng);

    // Each actor's sends go round-robin to its own clients, so that attack and
    // legitimate requests never wait for one another inside a client.
    std::vector<std::vector<PlannedSend>> per_client(kLegitThreads + scenario.attack_threads);
    size_t legit_index = 0;
    size_t attack_index = 0;
    for (const auto& send : planned) {
        if (send.actor == Actor::legit) {
            per_client[legit_index++ % kLegitThreads].push_back(send);
        } else {
            per_client[kLegitThreads + attack_index++ % scenario.attack_threads].push_back(send);
        }
    }

    VerifydInstance instance(instance_settings(options.guard));
    const std::string api_key = instance.key(kTestA);  // sandbox: nothing is delivered
    std::vector<std::unique_ptr<Client>> clients;
    const Clock::duration attack_gap =
        scenario.kind == AttackKind::slow_one_prefix
            ? std::chrono::duration_cast<Clock::duration>(Seconds(1 / scenario.attack_rate))
            : Clock::duration::zero();
    for (size_t i = 0; i < per_client.size(); ++i) {
        const bool attacker = i >= static_cast<size_t>(kLegitThreads);
        clients.push_back(
            std::make_unique<Client>(instance, api_key, std::move(per_client[i]),
                                     attacker ? attack_gap : Clock::duration::zero()));
    }
    // Sends stop at the scenario's end; the last typed codes come within the settle time.
    const Clock::time_point start = Clock::now() + std::chrono::milliseconds(100);
    const Clock::time_point deadline =
        start + std::chrono::duration_cast<Clock::duration>(
                    Seconds(scenario.seconds + options.guard.settle_seconds + 5));
    std::vector<std::thread> threads;
    for (auto& client : clients) {
        threads.emplace_back([&client, start, deadline] { client->run(start, deadline); });
    }
    for (auto& thread : threads) {
        thread.join();
    }

    ScenarioResult result;
    result.scenario = &scenario;
    std::vector<SendOutcome> attack;
    for (const auto& client : clients) {
        for (const auto& send : client->record.sends) {
            result.slowest_send = std::max(result.slowest_send, send.latency);
            if (send.actor == Actor::attack) {
                attack.push_back(send);
                continue;
            }
            ++result.legit_sends;
            if (send.status != 201) {
                ++result.legit_refused;
                ++result.legit_refusals[std::to_string(send.status) + "/" +
                                        std::to_string(send.error_code)];
            }
        }
        for (const auto& check : client->record.checks) {
            ++result.legit_checks;
            if (check.approved) {
                ++result.legit_approved;
            } else if (result.problems.size() < 10) {
                result.problems.push_back(check.problem);
            }
        }
        result.unavailable_retries += client->record.unavailable_retries;
        for (const auto& failure : client->record.failures) {
            if (result.problems.size() < 10) {
                result.problems.push_back(failure);
            }
        }
    }
    // In the order verifyd answered them, since the clients overlap.
    std::sort(attack.begin(), attack.end(),
              [](const SendOutcome& a, const SendOutcome& b) { return a.answered < b.answered; });
    long accepted_so_far = 0;
    for (const auto& send : attack) {
        ++result.attack_sends;
        if (send.status == 201) {
            ++result.attack_accepted;
            ++accepted_so_far;
        } else if (send.status == 403 && send.error_code == kDestinationPaused) {
            ++result.attack_refused;
            if (!result.accepted_before_first_refusal) {
                result.accepted_before_first_refusal = accepted_so_far;
            }
        }
    }
    read_log(instance.log(), result);
    return result;
}

// ---- Report ----

std::string percent(double share) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << 100 * share << "%";
    return out.str();
}

void print_table(const std::vector<ScenarioResult>& results, const Options& options) {
    const GuardSettings& g = options.guard;
    std::cout << "Fraud guard simulation: window " << g.window_seconds << " s, settle "
              << g.settle_seconds << " s, min sends " << g.min_sends << " (a country "
              << 5 * g.min_sends << "), min conversion " << g.min_conversion << ", max pending "
              << g.max_pending << ", block " << g.block_seconds << " s; seed " << options.seed
              << ".\n\n";
    std::cout << "| scenario | attack sends | refused (4032) | accepted before the first refusal "
                 "(at most) | legitimate sends | legitimate refused | legitimate approved |\n";
    std::cout << "|---|---|---|---|---|---|---|\n";
    for (const auto& r : results) {
        const Scenario& s = *r.scenario;
        std::cout << "| " << s.label << " " << s.description << " | " << r.attack_sends << " | "
                  << r.attack_refused << " (" << percent(r.refused_share()) << ") | "
                  << (r.accepted_before_first_refusal
                          ? std::to_string(*r.accepted_before_first_refusal)
                          : "no refusal: " + std::to_string(r.attack_accepted))
                  << " (" << s.first_refusal_bound << ") | " << r.legit_sends << " | "
                  << r.legit_refused << " | " << r.legit_approved << " of " << r.legit_checks
                  << " typed |\n";
    }
    std::string countries;
    for (const auto& country : legit_countries()) {
        countries += (countries.empty() ? "" : ", ") + country.iso;
    }
    std::cout << "\nLegitimate users (" << countries << ") type their code "
              << percent(kLegitTypingShare) << " of the time, "
              << kTypingDelayMin * g.settle_seconds << "–" << kTypingDelayMax * g.settle_seconds
              << " s after the send; attackers never do. Targets: (a) and (b) refuse ≥ 90% of "
                 "attack sends; the accepted-before-first-refusal bound is 2 × min sends + max "
                 "pending for a prefix, 2 × 5 × min sends + max pending for (b)'s country; no "
                 "legitimate send is refused.\n";
    std::cout.flush();
}

// The targets each result missed, one sentence each.
std::vector<std::string> missed_targets(const std::vector<ScenarioResult>& results) {
    std::vector<std::string> missed;
    for (const auto& r : results) {
        const Scenario& s = *r.scenario;
        if (s.judge_refused_share && r.refused_share() < 0.9) {
            missed.push_back(s.label + " refused " + percent(r.refused_share()) +
                             " of attack sends, less than 90%");
        }
        if (!r.accepted_before_first_refusal) {
            missed.push_back(s.label + " refused no attack send (" +
                             std::to_string(r.attack_accepted) + " accepted)");
        } else if (*r.accepted_before_first_refusal > s.first_refusal_bound) {
            missed.push_back(s.label + " accepted " +
                             std::to_string(*r.accepted_before_first_refusal) +
                             " attack sends before the first refusal, more than " +
                             std::to_string(s.first_refusal_bound));
        }
        if (r.legit_refused > 0) {
            std::string answers;
            for (const auto& [answer, count] : r.legit_refusals) {
                answers += (answers.empty() ? "" : ", ") + std::to_string(count) + " × " + answer;
            }
            missed.push_back(s.label + " refused " + std::to_string(r.legit_refused) +
                             " legitimate sends (" + answers + ")");
        }
    }
    return missed;
}

// To stderr: what may explain a result. `every_pause`: all of verifyd's pause lines, for
// watching the guard's pauses start, end and double; otherwise the first few.
void print_diagnostics(const std::vector<ScenarioResult>& results, bool every_pause) {
    for (const auto& r : results) {
        std::cerr << r.scenario->label << ": the slowest send took "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(r.slowest_send).count()
                  << " ms";
        if (r.unavailable_retries > 0) {
            std::cerr << "; " << r.unavailable_retries << " sends answered 503 and were retried";
        }
        std::cerr << "\n";
        for (const auto& problem : r.problems) {
            std::cerr << r.scenario->label << ": " << problem << "\n";
        }
        for (size_t i = 0; i < std::min<size_t>(r.other_lines.size(), 10); ++i) {
            std::cerr << r.scenario->label << " verifyd: " << r.other_lines[i] << "\n";
        }
        const size_t shown =
            every_pause ? r.pause_lines.size() : std::min<size_t>(r.pause_lines.size(), 6);
        for (size_t i = 0; i < shown; ++i) {
            std::cerr << r.scenario->label << " verifyd: " << r.pause_lines[i] << "\n";
        }
        if (r.pause_lines.size() > shown) {
            std::cerr << r.scenario->label << " verifyd: … " << r.pause_lines.size() - shown
                      << " more such lines\n";
        }
    }
}

// ---- Command line ----

void usage(std::ostream& out) {
    const GuardSettings d;
    out << "usage: fraud_simulation [options]\n"
           "Runs three SMS pumping scenarios against verifyd's fraud guard, each on a fresh\n"
           "verifyd and redis-server, and prints a Markdown table.\n\n"
           "  --window SECONDS        VERIFYD_FRAUD_WINDOW (default "
        << d.window_seconds
        << ")\n"
           "  --settle SECONDS        VERIFYD_FRAUD_SETTLE_SECONDS (default "
        << d.settle_seconds
        << ")\n"
           "  --min-sends N           VERIFYD_FRAUD_MIN_SENDS (default "
        << d.min_sends
        << ")\n"
           "  --min-conversion X      VERIFYD_FRAUD_MIN_CONVERSION (default "
        << d.min_conversion
        << ")\n"
           "  --max-pending N         VERIFYD_FRAUD_MAX_PENDING (default "
        << d.max_pending
        << ")\n"
           "  --block SECONDS         VERIFYD_FRAUD_BLOCK_SECONDS (default "
        << d.block_seconds
        << ")\n"
           "  --attack-rate PER_S     attack sends per second in (a) and (b)\n"
           "                          (default 3 × min sends ÷ settle)\n"
           "  --legit-rate PER_S      legitimate sends per second (default 8)\n"
           "  --seed N                the traffic's random seed (default 1)\n"
           "  --scenarios LETTERS     which scenarios to run, e.g. ac (default abc)\n"
           "  --pauses                print every pause verifyd logged (stderr)\n"
           "  --check                 exit 1 when a target is missed\n"
           "Scenario lengths follow the settle time: (a) 10, (b) 40 settle times; (c) until\n"
           "it has sent 1.5 times its bound of sends before the first refusal.\n";
}

// Parses argv into `options`; false (after saying why) when they are not usable.
bool parse_options(int argc, char** argv, Options& options) {
    GuardSettings& g = options.guard;
    struct Numeric {
        double low, high;
        std::function<void(double)> set;
    };
    const std::map<std::string, Numeric> numeric = {
        {"--window", {1, 86400, [&](double v) { g.window_seconds = static_cast<int>(v); }}},
        {"--settle", {1, 3600, [&](double v) { g.settle_seconds = static_cast<int>(v); }}},
        {"--min-sends", {1, 10000, [&](double v) { g.min_sends = static_cast<int>(v); }}},
        {"--min-conversion", {0, 1, [&](double v) { g.min_conversion = v; }}},
        {"--max-pending", {1, 10000, [&](double v) { g.max_pending = static_cast<int>(v); }}},
        {"--block", {1, 86400, [&](double v) { g.block_seconds = static_cast<int>(v); }}},
        {"--attack-rate", {0.1, 1000, [&](double v) { options.attack_rate = v; }}},
        {"--legit-rate", {0.1, 1000, [&](double v) { options.legit_rate = v; }}},
        {"--seed", {0, 1e15, [&](double v) { options.seed = static_cast<uint64_t>(v); }}},
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--check") {
            options.check = true;
            continue;
        }
        if (arg == "--pauses") {
            options.every_pause = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            usage(std::cout);
            std::exit(0);
        }
        const auto option = numeric.find(arg);
        if ((option == numeric.end() && arg != "--scenarios") || i + 1 >= argc) {
            std::cerr << "fraud_simulation: unknown option or missing value: " << arg << "\n";
            usage(std::cerr);
            return false;
        }
        const std::string text = argv[++i];
        if (arg == "--scenarios") {
            if (text.empty() || text.find_first_not_of("abc") != std::string::npos) {
                std::cerr << "fraud_simulation: --scenarios takes letters of abc, got \"" << text
                          << "\"\n";
                return false;
            }
            options.scenarios = text;
            continue;
        }
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        const Numeric& range = option->second;
        if (end == text.c_str() || *end != '\0' || !(value >= range.low && value <= range.high)) {
            std::cerr << "fraud_simulation: " << arg << " takes a number from " << range.low
                      << " to " << range.high << ", got \"" << text << "\"\n";
            return false;
        }
        range.set(value);
    }
    return true;
}

std::vector<Scenario> scenarios(const Options& options) {
    const GuardSettings& g = options.guard;
    const double settle = g.settle_seconds;
    const double burst_rate = options.attack_rate.value_or(3.0 * g.min_sends / settle);
    // (c)'s pace: each send sees at most max_pending − 2 others still unsettled, a
    // margin for the guard's clock and the request's own latency.
    const double slow_rate = std::max(1, g.max_pending - 2) / (1.1 * settle);
    const int prefix_bound = 2 * g.min_sends + g.max_pending;
    const int country_bound = 2 * 5 * g.min_sends + g.max_pending;
    // The burst scenarios' lengths: at the default attack rate, a guard that accepts
    // as many sends as its bound allows still refuses about 90% of them by the end, so
    // that the two targets agree; a real attack goes on for hours and settles in minutes.
    return {
        {"(a)", "one prefix (+234803123…)", AttackKind::one_prefix, 10 * settle, burst_rate,
         kAttackThreads, prefix_bound, true},
        {"(b)", "one country's prefixes (NG)", AttackKind::one_country, 40 * settle, burst_rate,
         kAttackThreads, country_bound, true},
        // Long enough to pass its bound one and a half times if nothing refused it.
        {"(c)", "one prefix, paced under max pending", AttackKind::slow_one_prefix,
         1.5 * prefix_bound / slow_rate + settle, slow_rate, 1, prefix_bound, false},
    };
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse_options(argc, argv, options)) {
        return 2;
    }
    try {
        std::vector<Scenario> all = scenarios(options);
        std::vector<ScenarioResult> results;
        for (size_t i = 0; i < all.size(); ++i) {
            const Scenario& scenario = all[i];
            if (options.scenarios.find(static_cast<char>('a' + i)) == std::string::npos) {
                continue;
            }
            std::cerr << "fraud_simulation: " << scenario.label << " " << scenario.description
                      << ": " << std::fixed << std::setprecision(1) << scenario.seconds
                      << " s, attack " << scenario.attack_rate << " sends/s\n";
            // Each scenario its own stream, so that changing one leaves the others as
            // they were.
            Rng rng(options.seed * 1000003 + i);
            results.push_back(run_scenario(scenario, options, rng));
        }
        print_diagnostics(results, options.every_pause);
        print_table(results, options);
        const std::vector<std::string> missed = missed_targets(results);
        for (const auto& sentence : missed) {
            std::cerr << "fraud_simulation: missed: " << sentence << "\n";
        }
        return options.check && !missed.empty() ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "fraud_simulation: " << e.what() << "\n";
        return 2;
    }
}
