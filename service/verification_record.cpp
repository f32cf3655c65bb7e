// The record codec's C++ half (verification_record.hpp); lua/lib/record.lua is the other.
#include "verifyd/verification_record.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <unordered_map>

#include "verifyd/redis_connection.hpp"
#include "verifyd/templates.hpp"

namespace verifyd {

namespace {

// The fields' names in Redis: lib/record.lua's table F, whose comments say what each holds.
namespace field {
constexpr const char* kAccount = "a";
constexpr const char* kTo = "to";
constexpr const char* kLocale = "loc";
constexpr const char* kStatus = "st";
constexpr const char* kWrong = "n";
constexpr const char* kHash = "h";
constexpr const char* kCode = "k";
constexpr const char* kTemplate = "tn";
constexpr const char* kVariables = "tv";
constexpr const char* kDelivery = "ds";
constexpr const char* kChannelInUse = "dch";
constexpr const char* kFallbackReason = "fr";
constexpr const char* kDeliveryError = "de";
constexpr const char* kProviderId = "pid";
constexpr const char* kSealedCode = "sc";
constexpr const char* kDeliveredAt = "dat";
constexpr const char* kService = "sv";
constexpr const char* kTwilioSid = "ve";
constexpr const char* kSendAttempts = "sa";
// The settings that send.lua packs into F.settings, and read.lua unpacks with the expiry.
constexpr const char* kCreated = "c";
constexpr const char* kExpires = "e";
constexpr const char* kSandbox = "sb";
constexpr const char* kCodeLength = "len";
constexpr const char* kMaxAttempts = "mx";
constexpr const char* kChannel = "ch";
constexpr const char* kFallback = "fb";
constexpr const char* kFallbackAfter = "fa";
constexpr const char* kCountry = "cc";
constexpr const char* kGuarded = "gd";
}  // namespace field

// The status letters of lib/record.lua (STATUS) as the API's words; a pending verification is
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
        {field::kAccount, account},
        {field::kTo, v.to},
        {field::kChannel, v.channel},
        {field::kFallback, v.fallback},
        {field::kFallbackAfter,
         v.fallback_after_seconds > 0 ? std::to_string(v.fallback_after_seconds) : ""},
        {field::kCountry, v.country},
        {field::kGuarded, created.guarded_at_ms > 0 ? std::to_string(created.guarded_at_ms) : ""},
        {field::kLocale, v.locale == kDefaultLocale ? "" : v.locale},
        {field::kCodeLength, std::to_string(v.code_length)},
        {field::kMaxAttempts, std::to_string(v.max_attempts)},
        {field::kSandbox, v.sandbox ? "1" : "0"},
        {field::kTemplate, v.template_name == kDefaultTemplateName ? "" : v.template_name},
        {field::kVariables, v.template_variables},
        {field::kHash, created.code_hashes},
        {field::kService, v.service_sid},
        {field::kTwilioSid, v.twilio_sid},
    };
    if (v.sandbox) {
        fields.emplace_back(field::kCode, v.code);
    } else {
        fields.emplace_back(field::kDelivery, v.delivery_status);
        fields.emplace_back(field::kSealedCode, created.sealed_code);
    }
    return fields;
}

Verification decode_verification(const RecordRef& ref, const redisReply* fields, int64_t now_ms) {
    std::unordered_map<std::string, std::string> map;
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        map[reply_string(fields->element[i])] = reply_string(fields->element[i + 1]);
    return decode_verification(ref, map, now_ms);
}

Verification decode_verification(const RecordRef& ref,
                                 const std::unordered_map<std::string, std::string>& fields,
                                 int64_t now_ms) {
    auto map = [&fields](const char* name) -> const std::string& {
        static const std::string none;
        auto found = fields.find(name);
        return found == fields.end() ? none : found->second;
    };
    auto number = [&](const char* name) { return std::atoll(map(name).c_str()); };
    Verification v;
    v.ref = ref;
    v.account = map(field::kAccount);
    v.to = map(field::kTo);
    v.channel = map(field::kChannel);
    v.fallback = map(field::kFallback);
    v.fallback_after_seconds = static_cast<int>(number(field::kFallbackAfter));
    v.country = map(field::kCountry);
    v.locale = stored_locale(map(field::kLocale));
    v.code_length = static_cast<int>(number(field::kCodeLength));
    v.max_attempts = static_cast<int>(number(field::kMaxAttempts));
    v.attempts = static_cast<int>(number(field::kWrong));
    v.created_ms = number(field::kCreated);
    v.expires_ms = number(field::kExpires);
    v.sandbox = map(field::kSandbox) == "1";
    v.code = map(field::kCode);
    v.template_name = stored_template_name(map(field::kTemplate));
    v.template_variables = map(field::kVariables);
    v.delivery_status = map(field::kDelivery);
    const std::string& channel_in_use = map(field::kChannelInUse);
    v.delivery_channel = channel_in_use.empty() ? v.channel : channel_in_use;
    v.fallback_reason = map(field::kFallbackReason);
    v.delivery_error = map(field::kDeliveryError);
    v.provider_message_id = map(field::kProviderId);
    v.delivered_at_ms = number(field::kDeliveredAt);
    v.service_sid = map(field::kService);
    v.twilio_sid = map(field::kTwilioSid);
    v.send_attempts = map(field::kSendAttempts);
    v.status = status_word(map(field::kStatus), now_ms >= v.expires_ms);
    return v;
}

std::string stored_locale(const std::string& stored) {
    return stored.empty() ? kDefaultLocale : stored;
}

std::string stored_template_name(const std::string& stored) {
    return stored.empty() ? kDefaultTemplateName : stored;
}

}  // namespace verifyd
