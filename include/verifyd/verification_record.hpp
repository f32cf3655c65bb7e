// A verification, and the record codec: how its fields are spelled in Redis. This is the
// C++ half of the codec whose Lua half is lua/lib/record.lua, which documents every
// field; a new field is a change in both. Not for: key names (redis_keys.hpp) or state
// transitions (the scripts of lua/, called through store.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "verifyd/redis_keys.hpp"

struct redisReply;

namespace verifyd {

struct Verification {
    RecordRef ref;
    std::string account;
    std::string to;
    std::string channel;
    std::string fallback;
    int fallback_after_seconds = 0;  // 0 = no fallback timer
    std::string country;             // the number's ISO 3166 region; empty when unknown
    std::string locale;
    std::string status;  // pending, approved, locked, canceled, expired
    int code_length = 0;
    int max_attempts = 0;
    int attempts = 0;
    int64_t created_ms = 0;
    int64_t expires_ms = 0;
    bool sandbox = false;
    std::string code;  // sandbox verifications only: their code is test data
    std::string template_name;
    std::string template_variables;  // the request's own, a JSON object; empty for none
    std::string delivery_status;
    std::string delivery_channel;  // the channel in use: sms after a WhatsApp fallback
    std::string fallback_reason;
    std::string delivery_error;
    std::string provider_message_id;
    int64_t delivered_at_ms = 0;  // 0 = not delivered
    // The Twilio face's (§11), empty for a native send: the service it was sent in and
    // its VE sid, each without its two letters, and the VE sid's send attempts as
    // lib/record.lua's F.send_attempts spells them (twilio_verifications.cpp reads them).
    std::string service_sid;
    std::string twilio_sid;
    std::string send_attempts;
};

// What a send stores: the verification (its status and times are the script's to set),
// how long its code lives, and the code's keyed hash.
struct NewVerification {
    Verification verification;
    int ttl_seconds = 600;
    std::string code_hashes;  // 16 raw bytes per hash key in use (two during a rotation)
    std::string sealed_code;  // live sends only: the code sealed for the outbox
    // When the fraud guard counted the send (its approval counts too); 0 = it did not.
    int64_t guarded_at_ms = 0;
    // A refusal decided before the send (the fraud guard's or a client limit's), as
    // "code retry_after detail" (send.lua's ARGV[13]): the send creates nothing and only
    // records it under its Idempotency-Key, unless an answer is recorded there already.
    std::string refusal;
};

// The field/value pairs send.lua stores for a new verification of `account`. A value
// that means the default (the default locale or template, no variables) is empty, and
// the script leaves empty values out.
std::vector<std::pair<const char*, std::string>> encode_new_verification(
    const NewVerification& created, const std::string& account);

// A verification from the field/value list of lib/record.lua's readable_fields; its
// status as of `now_ms` (Redis's clock), so that a pending one past its expiry reads
// as expired.
Verification decode_verification(const RecordRef& ref, const redisReply* fields, int64_t now_ms);
// The same from the field/value pairs as strings (an event's fields, lib/events.lua).
Verification decode_verification(const RecordRef& ref,
                                 const std::unordered_map<std::string, std::string>& fields,
                                 int64_t now_ms);

// A stored locale or template name, which is empty for the default, as the one in use.
std::string stored_locale(const std::string& stored);
std::string stored_template_name(const std::string& stored);

}  // namespace verifyd
