// The key names of redis_keys.hpp.
#include "verifyd/redis_keys.hpp"

#include <algorithm>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

constexpr size_t kTagLength = 22;
constexpr size_t kSuffixLength = 22;

bool is_url_safe(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

}  // namespace

std::optional<RecordRef> parse_record_id(const std::string& id, const char* prefix) {
    const std::string expected_prefix(prefix);
    if (id.size() != expected_prefix.size() + kTagLength + kSuffixLength ||
        !starts_with(id, expected_prefix))
        return std::nullopt;
    std::string rest = id.substr(expected_prefix.size());
    if (!std::all_of(rest.begin(), rest.end(), is_url_safe)) return std::nullopt;
    return RecordRef{rest.substr(0, kTagLength), rest.substr(kTagLength)};
}

std::string make_record_id(const char* prefix, const RecordRef& ref) {
    return std::string(prefix) + ref.tag + ref.suffix;
}

std::string number_key(const std::string& tag) {
    return "n:{" + tag + "}";
}

std::string record_key_prefix(const std::string& tag) {
    return "o:{" + tag + "}";
}

std::string record_key(const RecordRef& ref) {
    return record_key_prefix(ref.tag) + ref.suffix;
}

std::string request_counter_key(const std::string& key_id) {
    return "k:" + key_id;
}

std::string claim_key(const std::string& name) {
    return "i:{" + name + "}";
}

std::string guard_key(const std::string& slot_tag, const std::string& name) {
    return "g:{" + slot_tag + "}:" + name;
}

std::string inbox_key(const std::string& account_tag) {
    return "m:{" + account_tag + "}";
}

std::string service_key(const std::string& account_tag, const std::string& sid) {
    return service_key_prefix(account_tag) + sid;
}

std::string twilio_verification_key(const std::string& account_tag, const std::string& twilio_sid) {
    return service_key_prefix(account_tag) + "VE" + twilio_sid;
}

std::string service_key_prefix(const std::string& account_tag) {
    return "s:{" + account_tag + "}:";
}

std::string services_index_key(const std::string& account_tag) {
    return "s:{" + account_tag + "}";
}

std::string services_sequence_key(const std::string& account_tag) {
    return "s:{" + account_tag + "}:seq";
}

std::string client_key(const std::string& slot_tag, const std::string& field,
                       const std::string& client_tag) {
    return "c:{" + slot_tag + "}:" + field + ":" + client_tag;
}

std::string idempotency_record_key(const std::string& tag, const std::string& name) {
    return "r:{" + tag + "}" + name;
}

std::string job_ref(const RecordRef& ref) {
    return "{" + ref.tag + "}" + ref.suffix;
}

std::optional<RecordRef> parse_job_ref(const std::string& job) {
    const auto close = job.find('}');
    if (job.size() < 2 || job[0] != '{' || close == std::string::npos) return std::nullopt;
    return RecordRef{job.substr(1, close - 1), job.substr(close + 1)};
}

std::string provider_message_key(const std::string& provider_message_id) {
    return "p:{" + provider_message_id + "}";
}

std::string parked_receipts_key(const std::string& provider_message_id) {
    return "pr:{" + provider_message_id + "}";
}

}  // namespace verifyd
