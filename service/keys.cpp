// The keys file and key authentication. A presented key is hashed and looked up by its
// hash, then the stored hash is compared again in constant time, so a lookup never
// branches on how much of a secret matched.
#include "verifyd/keys.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "verifyd/crypto.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

constexpr size_t kMaxKeyLength = 256;

const std::pair<const char*, Scope> kScopeNames[] = {{"verify:send", kScopeSend},
                                                     {"verify:check", kScopeCheck},
                                                     {"verify:read", kScopeRead},
                                                     {"verify:admin", kScopeAdmin}};

bool is_lower_hex(const std::string& text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

ApiKey parse_entry(const json& entry, int default_rpm) {
    if (!entry.is_object()) throw std::runtime_error("is not an object");
    auto required_string = [&](const char* field) {
        if (!entry.contains(field) || !entry[field].is_string() ||
            entry[field].get<std::string>().empty())
            throw std::runtime_error(std::string("needs a non-empty string \"") + field + "\"");
        return entry[field].get<std::string>();
    };
    ApiKey key;
    key.id = required_string("id");
    key.account = required_string("account");
    key.hash = required_string("hash");
    if (key.hash.size() != 64 || !is_lower_hex(key.hash))
        throw std::runtime_error("\"hash\" must be 64 lowercase hex characters");
    std::string mode = required_string("mode");
    if (mode != "test" && mode != "live")
        throw std::runtime_error("\"mode\" must be \"test\" or \"live\"");
    key.live = mode == "live";
    if (entry.contains("scopes")) {
        if (!entry["scopes"].is_array()) throw std::runtime_error("\"scopes\" must be an array");
        key.scopes = 0;
        for (const auto& name : entry["scopes"]) {
            auto scope = name.is_string() ? scope_from_name(name.get<std::string>()) : std::nullopt;
            if (!scope) throw std::runtime_error("unknown scope " + name.dump());
            key.scopes |= *scope;
        }
    }
    if (entry.contains("revoked")) {
        if (!entry["revoked"].is_boolean())
            throw std::runtime_error("\"revoked\" must be a boolean");
        key.revoked = entry["revoked"].get<bool>();
    }
    if (entry.contains("expires_at") && !entry["expires_at"].is_null()) {
        auto at = entry["expires_at"].is_string()
                      ? parse_rfc3339(entry["expires_at"].get<std::string>())
                      : std::nullopt;
        if (!at) throw std::runtime_error("\"expires_at\" must be RFC 3339 or null");
        key.expires_at = at;
    }
    key.requests_per_minute = default_rpm;
    if (entry.contains("requests_per_minute") && !entry["requests_per_minute"].is_null()) {
        const json& rpm = entry["requests_per_minute"];
        if (!rpm.is_number_integer() || rpm.get<long long>() < 1 ||
            rpm.get<long long>() > 100000000)
            throw std::runtime_error("\"requests_per_minute\" must be a whole number ≥ 1");
        key.requests_per_minute = rpm.get<int>();
    }
    return key;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::optional<Scope> scope_from_name(std::string_view name) {
    for (const auto& [scope_name, scope] : kScopeNames)
        if (name == scope_name) return scope;
    return std::nullopt;
}

bool is_well_formed_key(std::string_view key) {
    if (key.size() > kMaxKeyLength) return false;
    std::string_view body;
    if (starts_with(key, "sk_live_") || starts_with(key, "sk_test_")) body = key.substr(8);
    if (body.size() < 32) return false;
    return std::all_of(body.begin(), body.end(),
                       [](unsigned char c) { return std::isalnum(c) != 0; });
}

KeyRing KeyRing::parse(const std::string& json_text, int default_rpm) {
    json document = json::parse(json_text, nullptr, false);
    if (document.is_discarded()) throw std::runtime_error("the keys file is not valid JSON");
    if (!document.is_object() || !document.contains("keys") || !document["keys"].is_array())
        throw std::runtime_error("the keys file must be an object with a \"keys\" array");
    KeyRing ring;
    for (size_t i = 0; i < document["keys"].size(); ++i) {
        ApiKey key;
        try {
            key = parse_entry(document["keys"][i], default_rpm);
        } catch (const std::exception& e) {
            throw std::runtime_error("keys[" + std::to_string(i) + "]: " + e.what());
        }
        for (const auto& other : ring.keys_)
            if (other.id == key.id)
                throw std::runtime_error("keys[" + std::to_string(i) + "]: duplicate id " + key.id);
        if (ring.by_hash_.count(key.hash))
            throw std::runtime_error("keys[" + std::to_string(i) + "]: duplicate hash");
        ring.by_hash_[key.hash] = ring.keys_.size();
        ring.keys_.push_back(std::move(key));
    }
    return ring;
}

KeyRing KeyRing::load_file(const std::string& path, int default_rpm) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream content;
    content << in.rdbuf();
    return parse(content.str(), default_rpm);
}

AuthResult KeyRing::authenticate(std::string_view presented_key, int64_t now_unix) const {
    AuthResult result;
    if (!is_well_formed_key(presented_key)) {
        result.error = ErrorCode::InvalidApiKey;
        return result;
    }
    std::string hash = api_key_hash(presented_key);
    auto found = by_hash_.find(hash);
    if (found == by_hash_.end() || !equal_constant_time(keys_[found->second].hash, hash)) {
        result.error = ErrorCode::InvalidApiKey;
        return result;
    }
    const ApiKey& key = keys_[found->second];
    bool presented_live = presented_key.rfind("sk_live_", 0) == 0;
    if (presented_live != key.live) {
        result.error = ErrorCode::InvalidApiKey;
    } else if (key.revoked) {
        result.error = ErrorCode::RevokedApiKey;
    } else if (key.expires_at && *key.expires_at <= now_unix) {
        result.error = ErrorCode::ExpiredApiKey;
    } else {
        result.key = &key;
    }
    return result;
}

GeneratedKey generate_key(const std::string& account, bool live, unsigned scopes) {
    GeneratedKey generated;
    generated.key = std::string(live ? "sk_live_" : "sk_test_") + random_alphanumeric(40);
    json scope_names = json::array();
    for (const auto& [name, scope] : kScopeNames)
        if (scopes & scope) scope_names.push_back(name);
    json entry = {{"id", "key_" + random_alphanumeric(16)},
                  {"account", account},
                  {"hash", api_key_hash(generated.key)},
                  {"mode", live ? "live" : "test"},
                  {"scopes", scope_names},
                  {"revoked", false},
                  {"expires_at", nullptr}};
    generated.entry_json = entry.dump();
    return generated;
}

std::optional<int64_t> parse_rfc3339(const std::string& text) {
    // "YYYY-MM-DDTHH:MM:SS" with every field exactly its digits: no signs, no spaces.
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (text.size() < 20) return std::nullopt;
    for (size_t i = 0; i + 1 < sizeof(shape); ++i) {
        bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
        if (shape[i] == 'd'
                ? !digit
                : (shape[i] == 'T' ? std::toupper(text[i]) != 'T' : text[i] != shape[i]))
            return std::nullopt;
    }
    auto field = [&](size_t pos, size_t length) { return std::stoi(text.substr(pos, length)); };
    int year = field(0, 4), month = field(5, 2), day = field(8, 2);
    int hour = field(11, 2), minute = field(14, 2), second = field(17, 2);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    static const int days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int month_days = month >= 1 && month <= 12 ? days_in_month[month - 1] : 0;
    if (month == 2 && leap) month_days = 29;
    if (day < 1 || day > month_days || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    size_t pos = 19;
    if (text[pos] == '.') {
        ++pos;
        size_t digits = pos;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
        if (pos == digits) return std::nullopt;
    }
    int64_t offset = 0;
    std::string zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
               std::isdigit(static_cast<unsigned char>(zone[1])) &&
               std::isdigit(static_cast<unsigned char>(zone[2])) &&
               std::isdigit(static_cast<unsigned char>(zone[4])) &&
               std::isdigit(static_cast<unsigned char>(zone[5]))) {
        int hours = std::stoi(zone.substr(1, 2)), minutes = std::stoi(zone.substr(4, 2));
        if (hours > 23 || minutes > 59) return std::nullopt;
        offset = (zone[0] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
    } else {
        return std::nullopt;
    }
    int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    return days * 86400 + hour * 3600 + minute * 60 + std::min(second, 59) - offset;
}

std::string format_rfc3339(int64_t unix_ms) {
    std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

}  // namespace verifyd
