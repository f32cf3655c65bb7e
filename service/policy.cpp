// The destination policy (policy.hpp): its file's reading, and its rules applied.
#include "verifyd/policy.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "verifyd/config.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

void require_known_fields(const json& object, const std::set<std::string>& known,
                          const std::string& where) {
    if (!object.is_object()) throw std::invalid_argument(where + " must be an object");
    for (const auto& item : object.items())
        if (!known.count(item.key()))
            throw std::invalid_argument(where + " has an unknown field \"" + item.key() + "\"");
}

std::vector<std::string> string_list(const json& value, const std::string& where) {
    if (!value.is_array()) throw std::invalid_argument(where + " must be a list of strings");
    std::vector<std::string> out;
    for (const json& item : value) {
        if (!item.is_string()) throw std::invalid_argument(where + " must be a list of strings");
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::set<std::string> regions(const json& value, const std::string& where, bool star_allowed,
                              bool& star) {
    static const std::set<std::string> supported = [] {
        std::set<std::string> all;
        i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetSupportedRegions(&all);
        return all;
    }();
    std::set<std::string> out;
    star = false;
    for (const std::string& region : string_list(value, where)) {
        if (star_allowed && region == "*") {
            star = true;
        } else if (!supported.count(region)) {
            throw std::invalid_argument(where + " has \"" + region +
                                        "\", which is not an ISO 3166-1 alpha-2 region");
        } else {
            out.insert(region);
        }
    }
    return out;
}

// `rules` with the fields `entry` has replaced, as a whole each (one level deep).
DestinationRules overridden(DestinationRules rules, const json& entry, const std::string& where) {
    require_known_fields(entry, {"countries", "prefixes", "fraud_guard"}, where);
    if (entry.contains("countries")) {
        const json& countries = entry["countries"];
        require_known_fields(countries, {"allow", "block"}, where + ".countries");
        if (countries.contains("allow")) {
            bool star = false;
            rules.allowed_countries =
                regions(countries["allow"], where + ".countries.allow", true, star);
            rules.allow_all_countries = star;
        }
        if (countries.contains("block")) {
            bool star = false;
            rules.blocked_countries =
                regions(countries["block"], where + ".countries.block", false, star);
        }
    }
    if (entry.contains("prefixes")) {
        const json& prefixes = entry["prefixes"];
        require_known_fields(prefixes, {"block"}, where + ".prefixes");
        if (prefixes.contains("block")) {
            rules.blocked_prefixes = string_list(prefixes["block"], where + ".prefixes.block");
            for (const std::string& prefix : rules.blocked_prefixes)
                if (!is_number_prefix(prefix))
                    throw std::invalid_argument(where + ".prefixes.block has \"" + prefix +
                                                "\", which is not + and 1 to 14 digits");
        }
    }
    if (entry.contains("fraud_guard")) {
        const json& mode = entry["fraud_guard"];
        auto parsed = mode.is_string() ? parse_guard_mode(mode.get<std::string>()) : std::nullopt;
        if (!parsed)
            throw std::invalid_argument(where +
                                        ".fraud_guard must be \"on\", \"monitor\" or \"off\"");
        rules.fraud_guard = *parsed;
    }
    return rules;
}

}  // namespace

std::optional<GuardMode> parse_guard_mode(const std::string& text) {
    if (text == "on") return GuardMode::On;
    if (text == "monitor") return GuardMode::Monitor;
    if (text == "off") return GuardMode::Off;
    return std::nullopt;
}

bool is_number_prefix(const std::string& text) {
    if (text.size() < 2 || text.size() > 15 || text[0] != '+') return false;
    for (size_t i = 1; i < text.size(); ++i)
        if (text[i] < '0' || text[i] > '9') return false;
    return true;
}

const char* guard_mode_name(GuardMode mode) {
    switch (mode) {
        case GuardMode::On:
            return "on";
        case GuardMode::Monitor:
            return "monitor";
        case GuardMode::Off:
            break;
    }
    return "off";
}

Policy::Policy(GuardMode mode) {
    default_.fraud_guard = mode;
}

const DestinationRules& Policy::rules_for(const std::string& account) const {
    auto found = accounts_.find(account);
    return found == accounts_.end() ? default_ : found->second;
}

std::optional<Policy::Refusal> Policy::refusal(const std::string& account, const std::string& to,
                                               const std::string& region) const {
    const DestinationRules& rules = rules_for(account);
    const std::string named = region.empty() ? "an unknown region" : region;
    if (rules.blocked_countries.count(region))
        return Refusal{"country_blocked",
                       "is in " + named + ", which this account's policy blocks (countries.block)"};
    if (!rules.allow_all_countries && !rules.allowed_countries.count(region))
        return Refusal{"country_not_allowed", "is in " + named +
                                                  ", which this account's policy does not "
                                                  "allow (countries.allow)"};
    for (const std::string& prefix : rules.blocked_prefixes)
        if (to.compare(0, prefix.size(), prefix) == 0)
            return Refusal{"prefix_blocked", "starts with " + prefix +
                                                 ", which this account's policy blocks "
                                                 "(prefixes.block)"};
    return std::nullopt;
}

Policy Policy::parse(const std::string& text, GuardMode mode) {
    const json document = json::parse(text, nullptr, false);
    if (document.is_discarded()) throw std::invalid_argument("is not valid JSON");
    require_known_fields(document, {"default", "accounts"}, "the policy");
    Policy policy(mode);
    if (document.contains("default"))
        policy.default_ = overridden(policy.default_, document["default"], "default");
    if (document.contains("accounts")) {
        const json& accounts = document["accounts"];
        if (!accounts.is_object()) throw std::invalid_argument("accounts must be an object");
        for (const auto& item : accounts.items())
            policy.accounts_[item.key()] =
                overridden(policy.default_, item.value(), "accounts." + item.key());
    }
    return policy;
}

Policy load_policy(const std::string& path, GuardMode mode) {
    if (path.empty()) return Policy(mode);
    std::ifstream file(path);
    if (!file) throw ConfigError("VERIFYD_POLICY_FILE", "cannot read " + path);
    std::ostringstream text;
    text << file.rdbuf();
    try {
        return Policy::parse(text.str(), mode);
    } catch (const std::invalid_argument& e) {
        throw ConfigError("VERIFYD_POLICY_FILE", path + ": " + e.what());
    }
}

}  // namespace verifyd
