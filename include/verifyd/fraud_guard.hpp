// The fraud guard (§10.2 client limits, §10.3 the guard) as the API and the timers use
// it: a number's prefix, a client's address or id checked, the keys of a send's guard
// slot and client slot (their names keyed hashes: no number, address or id appears in a
// key), and the pauses the scripts report, turned into log lines and metrics. The
// counting and the decisions are lua/guard/ and lua/client/'s. Not for: the destination
// policy (policy.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "verifyd/caller.hpp"
#include "verifyd/config.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/policy.hpp"

namespace verifyd {

class Metrics;

// The number without its last four digits: "+234803123" for "+2348031234567".
std::string number_prefix(const std::string& e164);

// A client_ip as the network it is limited by: "4:" and the IPv4 address (four dotted
// decimal parts, no leading zeros), or "6:" and the /64 of an IPv6 address in hex (an
// IPv4-mapped one is its IPv4 address); nothing when malformed.
std::optional<std::string> client_network(const std::string& address);
// 1–128 characters of [A-Za-z0-9._:@-].
bool is_client_id(const std::string& id);

// The refusals: 4032 naming the paused target (a prefix or a country), with no
// retry_after (the end user behind a login form may be the attacker); 4045 naming the
// client field over its limit.
ApiError paused_refusal(const std::string& target);
ApiError client_refusal(const std::string& field, int retry_after);

// The guard's thresholds as lib/guard.lua's guard_begin reads them.
std::string pack_guard_settings(const FraudSettings& settings);

// The guard slot of one account, mode and country (lua/lib/guard.lua), and the key of
// a target's counts in it.
struct GuardSlot {
    std::string account;
    bool sandbox = false;
    std::string country;  // ISO 3166-1 alpha-2; ZZ when unknown
    std::string tag;
    std::string safe, pauses, strikes;
};
GuardSlot guard_slot(const HashKey& number_key, const std::string& account, bool sandbox,
                     const std::string& country);
std::string target_key(const HashKey& number_key, const GuardSlot& slot, const std::string& target);

// Everything the store needs to judge one send, count it and take it back.
struct GuardedSend {
    GuardSlot slot;
    GuardMode mode = GuardMode::On;
    std::string prefix;
    std::string number_tag;
    std::string suffix;
    std::string prefix_key, country_key;
    // One per client field the send carries: its key, its windows ("COUNT/SECONDS,…")
    // and the field's name for the refusal.
    struct Client {
        std::string key, windows, field;
    };
    std::vector<Client> clients;
};

// A send of `caller` to `to` (canonical E.164, in ISO `country`, empty when unknown),
// made as verification `suffix` of number tag `number_tag` (the client limits count
// it by its suffix), with the client fields it carries (empty = none; client_network's
// form for the address).
GuardedSend guarded_send(const HashKey& number_key, const Caller& caller, GuardMode mode,
                         const std::string& to, const std::string& country,
                         const std::string& number_tag, const std::string& suffix,
                         const std::string& client_net, const std::string& client_id,
                         const FraudSettings& settings);

// A pause as the scripts report it (lib/guard.lua pause_change) and GET /fraud/blocks
// shows it.
struct Pause {
    bool started = false;  // or ended
    std::string country, target, kind, reason;
    long long sends = 0, approved = 0, settled = 0, strikes = 0;
    bool enforced = true;
    int64_t paused_at_ms = 0, expires_at_ms = 0;
};
std::optional<Pause> parse_pause(const std::string& json);

// The warn log line of a pause that began or ended, and its metrics.
void report_pause(const Pause& pause, const std::string& account, bool sandbox, Metrics& metrics);

}  // namespace verifyd
