// The record codec's C++ half (verification_record.hpp); lua/lib/record.lua is the other.
#include "verifyd/verification_record.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <unordered_map>

#include "verifyd/redis_connection.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

namespace {

// The status letters of lib/record.lua as the API's words; a pending verification is
// expired once its time has passed, which no script needs to write down.
std::string status_word(const std::string& letter, bool past_expiry) {
    if (letter == "a") return "approved";
    if (letter == "l") return "locked";
    if (letter == "c" || letter == "s") return "canceled";
    return past_expiry ? "expired" : "pending";
}

}  // namespace

std::vector<std::pair<const char*, std::string>> encode_new_verification(
    const NewVerification& created, const std::string& account) {
    const Verification& v = created.verification;
    std::vector<std::pair<const char*, std::string>> fields = {
        {"a", account},
        {"to", v.to},
        {"ch", v.channel},
        {"fb", v.fallback},
        {"loc", v.locale == kDefaultLocale ? "" : v.locale},
        {"len", std::to_string(v.code_length)},
        {"mx", std::to_string(v.max_attempts)},
        {"sb", v.sandbox ? "1" : "0"},
        {"tn", v.template_name == kDefaultTemplateName ? "" : v.template_name},
        {"tv", v.template_variables},
        {"h", created.code_hashes},
    };
    if (v.sandbox) {
        fields.emplace_back("k", v.code);
    } else {
        fields.emplace_back("ds", v.delivery_status);
        fields.emplace_back("sc", created.sealed_code);
    }
    return fields;
}

Verification decode_verification(const RecordRef& ref, const redisReply* fields, int64_t now_ms) {
    std::unordered_map<std::string, std::string> map;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        map[reply_string(fields->element[i])] = reply_string(fields->element[i + 1]);
    auto number = [&](const char* name) { return std::atoll(map[name].c_str()); };
    Verification v;
    v.ref = ref;
    v.account = map["a"];
    v.to = map["to"];
    v.channel = map["ch"];
    v.fallback = map["fb"];
    v.locale = stored_locale(map["loc"]);
    v.code_length = static_cast<int>(number("len"));
    v.max_attempts = static_cast<int>(number("mx"));
    v.attempts = static_cast<int>(number("n"));
    v.created_ms = number("c");
    v.expires_ms = number("e");
    v.sandbox = map["sb"] == "1";
    v.code = map["k"];
    v.template_name = stored_template_name(map["tn"]);
    v.template_variables = map["tv"];
    v.delivery_status = map["ds"].empty() && v.sandbox ? "sandboxed" : map["ds"];
    v.delivery_channel = map["dch"].empty() ? v.channel : map["dch"];
    v.fallback_reason = map["fr"];
    v.delivery_error = map["de"];
    v.provider_message_id = map["pid"];
    v.status = status_word(map["st"], now_ms >= v.expires_ms);
    return v;
}

std::string stored_locale(const std::string& stored) {
    return stored.empty() ? kDefaultLocale : stored;
}

std::string stored_template_name(const std::string& stored) {
    return stored.empty() ? kDefaultTemplateName : stored;
}

}  // namespace verifyd
