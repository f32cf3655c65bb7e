// The key names of redis_keys.hpp.
#include "verifyd/redis_keys.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "verifyd/redis_slots.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

constexpr size_t kTagLength = 22;
constexpr size_t kSuffixLength = 22;

bool is_url_safe(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// Each partition's tag and queues, made once per count.
struct PartitionTable {
    std::vector<std::string> tags;
    std::vector<PartitionQueues> queues;
};

// "p<partition in hex>" and, when that slot is not in the partition's share of the
// slots, "." and the first number that puts it there: a short, deterministic spelling
// whose slots lie one per 16384/count slots.
std::string spell_partition_tag(int partition, int count) {
    const long first_slot = static_cast<long>(partition) * kRedisSlots / count;
    const long end_slot = static_cast<long>(partition + 1) * kRedisSlots / count;
    char base[16];
    std::snprintf(base, sizeof base, "p%x", static_cast<unsigned>(partition));
    for (long attempt = -1;; ++attempt) {
        std::string tag = attempt < 0 ? std::string(base) : base + ("." + std::to_string(attempt));
        const int slot = redis_slot("{" + tag + "}");
        if (slot >= first_slot && slot < end_slot) return tag;
    }
}

std::unique_ptr<PartitionTable> make_partition_table(int count) {
    auto table = std::make_unique<PartitionTable>();
    for (int p = 0; p < count; ++p) {
        const std::string tag = spell_partition_tag(p, count);
        const std::string prefix = "q:{" + tag + "}:";
        table->tags.push_back(tag);
        table->queues.push_back({prefix + "delivery", prefix + "undelivered", prefix + "delayed",
                                 prefix + "due", prefix + "events", "fraud:{" + tag + "}:pauses"});
    }
    return table;
}

std::unique_ptr<PartitionTable>& partition_table() {
    static std::unique_ptr<PartitionTable> table = make_partition_table(kDefaultPartitions);
    return table;
}

// The braces and the tag that start every key of `tag`'s number (or guard slot).
std::string partitioned(const std::string& tag) {
    return "{" + partition_tag(partition_of(tag)) + "}" + tag;
}

}  // namespace

void use_partitions(int count) {
    count = std::clamp(count, kMinPartitions, kMaxPartitions);
    if (partition_count() != count) partition_table() = make_partition_table(count);
}

int partition_count() {
    return static_cast<int>(partition_table()->tags.size());
}

int partition_of(const std::string& tag) {
    // FNV-1a: the tags are keyed hashes already, any even mix of their bytes will do.
    uint32_t hash = 2166136261u;
    for (unsigned char byte : tag) hash = (hash ^ byte) * 16777619u;
    return static_cast<int>(hash % static_cast<uint32_t>(partition_count()));
}

const std::string& partition_tag(int partition) {
    return partition_table()->tags.at(partition);
}

const PartitionQueues& partition_queues(int partition) {
    return partition_table()->queues.at(partition);
}

const PartitionQueues& queues_of(const std::string& tag) {
    return partition_queues(partition_of(tag));
}

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
    return "n:" + partitioned(tag);
}

std::string record_key_prefix(const std::string& tag) {
    return "o:" + partitioned(tag);
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
    return "g:" + partitioned(slot_tag) + ":" + name;
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
    return "r:" + partitioned(tag) + name;
}

std::string job_ref(const RecordRef& ref) {
    return partitioned(ref.tag) + ref.suffix;
}

std::optional<RecordRef> parse_job_ref(const std::string& job) {
    const auto close = job.find('}');
    if (job.size() < 2 || job[0] != '{' || close == std::string::npos ||
        job.size() != close + 1 + kTagLength + kSuffixLength)
        return std::nullopt;
    return RecordRef{job.substr(close + 1, kTagLength), job.substr(close + 1 + kTagLength)};
}

std::string provider_message_key(const std::string& provider_message_id) {
    return "p:{" + provider_message_id + "}";
}

std::string parked_receipts_key(const std::string& provider_message_id) {
    return "pr:{" + provider_message_id + "}";
}

}  // namespace verifyd
