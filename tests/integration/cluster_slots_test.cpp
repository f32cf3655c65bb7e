// Every Redis call verifyd makes keeps to one hash slot (docs/API.md §12), so that the
// Redis Cluster step changes routing, not scripts: a real verifyd is driven through
// every kind of request while `redis-cli MONITOR` records what reaches Redis, and each
// FCALL's keys, and each key its script touches, must share the slot of the call.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>

#include "support/api_checks.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/twilio_client.hpp"
#include "verifyd/redis_slots.hpp"

using namespace verifyd_test;
using nlohmann::json;

namespace {

// The arguments of one MONITOR line, `<time> [<db> <client>] "arg" "arg" …`, unquoted;
// and whether a script sent it (its client is "lua").
struct MonitoredCall {
    bool from_script = false;
    std::vector<std::string> args;
};

std::optional<MonitoredCall> parse_monitor_line(const std::string& line) {
    const size_t bracket = line.find('[');
    const size_t closing = line.find(']', bracket);
    if (bracket == std::string::npos || closing == std::string::npos) return std::nullopt;
    MonitoredCall call;
    call.from_script = line.compare(closing - 3, 3, "lua") == 0;
    size_t at = closing + 1;
    while ((at = line.find('"', at)) != std::string::npos) {
        std::string arg;
        for (++at; at < line.size() && line[at] != '"'; ++at) {
            if (line[at] != '\\' || at + 1 >= line.size()) {
                arg += line[at];
                continue;
            }
            const char escaped = line[++at];
            if (escaped == 'x' && at + 2 < line.size()) {
                arg += static_cast<char>(std::stoi(line.substr(at + 1, 2), nullptr, 16));
                at += 2;
            } else {
                arg += escaped == 'n'   ? '\n'
                       : escaped == 'r' ? '\r'
                       : escaped == 't' ? '\t'
                                        : escaped;
            }
        }
        ++at;
        call.args.push_back(std::move(arg));
    }
    if (call.args.empty()) return std::nullopt;
    return call;
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// The keys that are not in their call's slot when verifyd runs on one Redis: the API
// key's request counter k:<key id>, which every API script counts beside the keys of its
// own slot there, and an Idempotency-Key's claim i:{name}, which the state change's call
// takes there (on a cluster each is a call of its own, §12), and the events lease, a
// call of its own. Any other key out of its call's slot is a mistake.
bool is_known_exception(const std::string& key) {
    return key.rfind("k:", 0) == 0 || key.rfind("i:{", 0) == 0 || key == "q:events:lease";
}

// The commands scripts send whose first argument is no key.
bool takes_no_key(const std::string& command) {
    static const std::set<std::string> keyless = {"TIME", "PING", "INFO", "ECHO"};
    return keyless.count(command) != 0;
}

// Each problem: the script (FCALL's function) and the keys that left its slot.
std::vector<std::string> cross_slot_calls(const std::string& monitor_log, size_t& fcalls) {
    std::vector<std::string> problems;
    std::istringstream lines(monitor_log);
    std::string line, function;
    int slot = -1;
    while (std::getline(lines, line)) {
        auto call = parse_monitor_line(line);
        if (!call) continue;
        const std::string command = upper(call->args[0]);
        if (!call->from_script) {
            slot = -1;
            if (command != "FCALL" && command != "FCALL_RO") continue;
            ++fcalls;
            function = call->args.at(1);
            const size_t count = std::stoul(call->args.at(2));
            for (size_t i = 3; i < 3 + count && i < call->args.size(); ++i) {
                const std::string& key = call->args[i];
                if (is_known_exception(key)) continue;
                if (slot < 0)
                    slot = verifyd::redis_slot(key);
                else if (verifyd::redis_slot(key) != slot)
                    problems.push_back(function + " names " + key + " in another slot");
            }
            continue;
        }
        if (slot < 0 || takes_no_key(command) || call->args.size() < 2) continue;
        const std::string& key = call->args[1];
        if (!is_known_exception(key) && verifyd::redis_slot(key) != slot)
            problems.push_back(function + " touches " + key + " (" + command +
                               ") outside its slot");
    }
    return problems;
}

}  // namespace

TEST_CASE("every script call, and every key its script touches, keeps to one hash slot") {
    const std::string admin_key = random_api_key(false);
    InstanceOptions options;
    options.settings = {{"VERIFYD_RESEND_COOLDOWN", "0"}};
    options.extra_key_entries = {{{"id", "key_admin"},
                                  {"account", kAccountA},
                                  {"hash", key_file_hash(admin_key)},
                                  {"mode", "test"},
                                  {"scopes", {"verify:admin"}}}};
    VerifydInstance v(options);
    TempDir work;
    Process monitor("/usr/bin/redis-cli",
                    {"-h", "127.0.0.1", "-p", std::to_string(v.redis().port()), "MONITOR"},
                    {{"PATH", "/usr/bin:/bin"}}, work.path() + "/monitor.log");
    REQUIRE(wait_until([&] { return monitor.log().find("OK") != std::string::npos; },
                       std::chrono::seconds(5)));

    // The native API: sends (with an Idempotency-Key and the client limits), reads, checks,
    // a cancel, the listings; a live send the outbox delivers through the log provider.
    const std::string test = v.key(kTestA);
    const json sent =
        v.send_ok(test, us_number(6101), {{"client_ip", "203.0.113.7"}, {"client_id", "u1"}});
    require_success(
        v.post("/verify/send", test, {{"to", us_number(6102)}}, {{"Idempotency-Key", "slots-1"}}),
        201);
    require_success(v.get_verification(test, sent["id"]));
    const std::string code = v.sandbox_code(test, sent["id"]);
    require_success(
        v.check(test, {{"to", us_number(6101)}, {"code", code == "000000" ? "111111" : "000000"}}));
    require_success(v.check(test, {{"id", sent["id"]}, {"code", code}}));
    const json other = v.send_ok(test, us_number(6103));
    require_success(v.cancel(test, other["id"]));
    require_success(v.get("/messages?to=%2B" + us_number(6101).substr(1), test));
    require_success(v.get("/messages", test));
    require_success(v.get("/messages/" + sent["message_id"].get<std::string>(), test));
    const json live = v.send_ok(v.key(kLiveA), us_number(6104));
    v.wait_for_delivery(v.key(kLiveA), live["id"], "sent");
    // The fraud guard's administration.
    require_success(v.get("/fraud/blocks", admin_key));
    const std::string safe = "/safe-list/%2B" + us_number(6106).substr(1);
    require_success(v.client().request("PUT", safe, bearer(admin_key)));
    require_success(v.get(safe, admin_key));
    require_success(v.client().request("DELETE", safe, bearer(admin_key)));
    // The Twilio face: a service, a send, its fetch by sid, a check by VerificationSid.
    TwilioClient twilio = as_account(v, kAccountA, kTestA);
    const HttpResponse service = twilio.request("POST", "/v2/Services", "FriendlyName=Slots");
    REQUIRE(service.status == 201);
    const std::string verifications =
        "/v2/Services/" + service.json()["sid"].get<std::string>() + "/Verifications";
    const HttpResponse twilio_sent = twilio.request(
        "POST", verifications, "To=%2B" + us_number(6105).substr(1) + "&Channel=sms");
    REQUIRE(twilio_sent.status == 201);
    const std::string sid = twilio_sent.json()["sid"];
    REQUIRE(twilio.request("GET", verifications + "/" + sid).status == 200);
    REQUIRE(twilio.request("GET", "/v2/Services").status == 200);
    monitor.stop();

    size_t fcalls = 0;
    const std::vector<std::string> problems = cross_slot_calls(monitor.log(), fcalls);
    INFO(json(problems).dump(2));
    CHECK(problems.empty());
    // The monitor saw the calls: well over one per request above.
    CHECK(fcalls > 20);
}
