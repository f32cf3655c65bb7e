// The destination policy (§10.1): per account, the countries and number prefixes a send
// may go to, and the fraud guard's mode, read from VERIFYD_POLICY_FILE over a default
// (the file's "default", over the environment's VERIFYD_FRAUD_GUARD). Part of the
// credentials snapshot, re-read with the keys file. Not for: phone number rules
// (phone.hpp) or the fraud guard's counts.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace verifyd {

enum class GuardMode { On, Monitor, Off };

// "on", "monitor" or "off"; nothing for anything else.
std::optional<GuardMode> parse_guard_mode(const std::string& text);
const char* guard_mode_name(GuardMode mode);
// "+" and 1 to 14 digits: a prefix of the policy, or a prefix the fraud guard pauses.
bool is_number_prefix(const std::string& text);

// One account's rules, after its entry has overridden the default field by field.
struct DestinationRules {
    bool allow_all_countries = true;
    std::set<std::string> allowed_countries;    // ISO 3166-1 alpha-2, when not all
    std::set<std::string> blocked_countries;    // wins over allowed
    std::vector<std::string> blocked_prefixes;  // "+" and 1 to 14 digits
    GuardMode fraud_guard = GuardMode::On;
};

class Policy {
  public:
    // Every destination allowed, the guard in `mode`: the policy without a file.
    explicit Policy(GuardMode mode = GuardMode::On);

    const DestinationRules& rules_for(const std::string& account) const;
    // Why a send of `account` to `to` (canonical E.164, in ISO `region`) is refused:
    // the rule (country_blocked, country_not_allowed, prefix_blocked, for metrics) and a
    // problem for details.to that names it; nothing when the policy allows it.
    struct Refusal {
        const char* rule;
        std::string problem;
    };
    std::optional<Refusal> refusal(const std::string& account, const std::string& to,
                                   const std::string& region) const;

    // The policy a file's JSON text describes (docs/API.md §10.1), its default over
    // `mode`. Throws std::invalid_argument saying what is wrong: an unknown field, region
    // or mode, or a malformed prefix.
    static Policy parse(const std::string& text, GuardMode mode);

  private:
    DestinationRules default_;
    std::map<std::string, DestinationRules> accounts_;
};

// The policy of VERIFYD_POLICY_FILE (`path`; empty = no file: Policy(mode)). Throws
// ConfigError naming VERIFYD_POLICY_FILE.
Policy load_policy(const std::string& path, GuardMode mode);

}  // namespace verifyd
