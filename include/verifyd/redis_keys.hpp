// Every Redis key name verifyd uses, and the mapping between a record's public id
// (vrf_…, msg_…), its reference (tag and suffix) and its keys: one place to read the key
// map (docs/ARCHITECTURE.md has it as a table). Every key a script call touches shares
// one hash tag, the part in braces, so that each call stays within one Cluster slot.
// Not for: what the keys hold (verification_record.hpp, lua/lib/record.lua) or who
// writes them (store, outbox).
#pragma once

#include <optional>
#include <string>

namespace verifyd {

// Ids are a prefix, the 22-character tag of the number and 22 random characters.
constexpr const char* kVerificationPrefix = "vrf_";
constexpr const char* kMessagePrefix = "msg_";

// Partitions (docs/API.md §12): a number's keys and the shared queues its calls write
// (the outbox, the due index, the events, the fraud guard's pause index) are spread over
// a fixed number of partitions, each a hash tag of its own; a number's keys carry its
// partition's tag in braces and its own tag beside it, so a send and its delivery job
// stay one script call in one slot. The tags are spelled so that their slots lie evenly
// over the 16384 (one per 16384/count slots), which spreads them evenly over the
// primaries of a cluster. Every replica of a deployment must use the same count.
constexpr int kDefaultPartitions = 256;
constexpr int kMinPartitions = 16;
constexpr int kMaxPartitions = 4096;

// Sets the count (VERIFYD_REDIS_PARTITIONS), once, before any other thread starts.
void use_partitions(int count);
int partition_count();
// The partition of a tag (a number's, or a fraud guard slot's): from its bytes, so that
// any replica finds the same.
int partition_of(const std::string& tag);
// The text between the braces of a partition's keys.
const std::string& partition_tag(int partition);

// The shared queues of one partition.
struct PartitionQueues {
    // The outbox of live sends (outbox.hpp): the stream of jobs (its consumer group is
    // kDeliveryGroup), the index of undelivered jobs by creation time and the retries
    // waiting for their time.
    std::string delivery, undelivered, delayed;
    // The due index: verifications by the time lua/delivery/due.lua must look at them (a
    // fallback timer, an expiry or a sandbox step to report).
    std::string due;
    // Events not yet delivered, in order (lib/events.lua).
    std::string events;
    // The fraud guard's pauses in force, by when they end.
    std::string pauses;
};
const PartitionQueues& partition_queues(int partition);
// The queues of the partition of `tag`, which its number's (or guard slot's) calls write.
const PartitionQueues& queues_of(const std::string& tag);
constexpr const char* kDeliveryGroup = "deliverers";

// A verification: the tag of its number (in its account and mode) and its own suffix.
struct RecordRef {
    std::string tag;
    std::string suffix;
};

// Splits "vrf_<tag><suffix>" (or "msg_…" with that prefix); nothing when malformed.
std::optional<RecordRef> parse_record_id(const std::string& id, const char* prefix);
std::string make_record_id(const char* prefix, const RecordRef& ref);

// The hash of a number (of one account and mode) with its current verification while
// inline, and a verification's own hash (once superseded, or from the start when its ttl
// + grace does not cover the send windows): n:{partition}<tag>, o:{partition}<tag><suffix>.
std::string number_key(const std::string& tag);
std::string record_key(const RecordRef& ref);
// What a verification's own record key starts with: send.lua and list.lua take it and
// append a suffix (the new, the superseded or a listed verification's).
std::string record_key_prefix(const std::string& tag);
// An API key's request counter for the current minute.
std::string request_counter_key(const std::string& key_id);
// Where an Idempotency-Key's claim lives, and where the answer of its state change does
// (beside that change: in the slot of `tag`).
std::string claim_key(const std::string& name);
std::string idempotency_record_key(const std::string& tag, const std::string& name);

// A delivery job names its verification as "{partition}<tag><suffix>" (the stream
// entry's field r): its record key without the "o:".
std::string job_ref(const RecordRef& ref);
// Nothing when `job` is not such a ref.
std::optional<RecordRef> parse_job_ref(const std::string& job);

// Which message a provider's message id names (lua/delivery/map.lua), for its receipts,
// and the receipts that came before it was known (lua/delivery/lookup.lua): both in the
// slot of the id.
std::string provider_message_key(const std::string& provider_message_id);
std::string parked_receipts_key(const std::string& provider_message_id);

// The lease of the one replica that posts the events.
constexpr const char* kEventsLease = "q:events:lease";

// The fraud guard (fraud_guard.hpp, lua/lib/guard.lua): one slot g:{partition}<tag> per
// account, mode and country, whose keys are g:{partition}<tag>:<name> (name: safe,
// pauses, strikes, or t: and a target's tag), in the partition of that tag (whose
// PartitionQueues::pauses index them); and the client limits' slot c:{tag} per account
// and mode, whose keys are c:{tag}:<field>:<client's tag>.
std::string guard_key(const std::string& slot_tag, const std::string& name);
std::string client_key(const std::string& slot_tag, const std::string& field,
                       const std::string& client_tag);

// The Twilio face's services (twilio.hpp, lua/services/): one slot s:{tag} per account
// (tag: the keyed hash of its name), holding each service s:{tag}:<sid>, the index of
// them all in creation order s:{tag}, the count that orders them, s:{tag}:seq, and the
// index from each VE sid to its number's tag, s:{tag}:VE<hex> (lowercase hex).
std::string twilio_verification_key(const std::string& account_tag, const std::string& twilio_sid);
std::string service_key(const std::string& account_tag, const std::string& sid);
std::string service_key_prefix(const std::string& account_tag);
std::string services_index_key(const std::string& account_tag);
std::string services_sequence_key(const std::string& account_tag);

// The sandbox inbox (lua/inbox/): one sorted set m:{tag} per account (tag: the keyed
// hash of its name) of its sandbox messages' job refs by creation time.
std::string inbox_key(const std::string& account_tag);

// The number key, sealed under each hash key in use (number_key.hpp).
constexpr const char* kNumberKeyKey = "{verifyd}:number-key";

}  // namespace verifyd
