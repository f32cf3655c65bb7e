// Covers redis_keys.hpp: record ids (vrf_, msg_) and their keys, delivery job refs, and
// the partitions: their slots, and how evenly they spread numbers.
#include "verifyd/redis_keys.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <string>

#include "verifyd/redis_slots.hpp"

using verifyd::kMessagePrefix;
using verifyd::kVerificationPrefix;
using verifyd::RecordRef;

namespace {

const std::string kTag = "Ab3-_xYz0123456789abcd";     // 22 URL-safe characters
const std::string kSuffix = "QRSTuvwx-_9876543210zz";  // 22 URL-safe characters

}  // namespace

TEST_CASE("a record id is its prefix, the tag and the suffix") {
    CHECK(verifyd::make_record_id(kVerificationPrefix, {kTag, kSuffix}) == "vrf_" + kTag + kSuffix);
    CHECK(verifyd::make_record_id(kMessagePrefix, {kTag, kSuffix}) == "msg_" + kTag + kSuffix);
}

TEST_CASE("a made record id parses back to its tag and suffix") {
    for (const char* prefix : {kVerificationPrefix, kMessagePrefix}) {
        INFO(prefix);
        const std::string id = verifyd::make_record_id(prefix, {kTag, kSuffix});
        const auto ref = verifyd::parse_record_id(id, prefix);
        REQUIRE(ref);
        CHECK(ref->tag == kTag);
        CHECK(ref->suffix == kSuffix);
    }
}

TEST_CASE("an id with another prefix is refused") {
    const std::string message_id = "msg_" + kTag + kSuffix;
    const std::string verification_id = "vrf_" + kTag + kSuffix;
    CHECK_FALSE(verifyd::parse_record_id(message_id, kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id(verification_id, kMessagePrefix));
    CHECK_FALSE(verifyd::parse_record_id("VRF_" + kTag + kSuffix, kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id("key_" + kTag + kSuffix, kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id(kTag + kSuffix + "abcd", kVerificationPrefix));
}

TEST_CASE("an id of the wrong length is refused") {
    const std::string id = "vrf_" + kTag + kSuffix;
    CHECK_FALSE(verifyd::parse_record_id(id.substr(0, id.size() - 1), kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id(id + "a", kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id("vrf_" + kTag, kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id("vrf_", kVerificationPrefix));
    CHECK_FALSE(verifyd::parse_record_id("", kVerificationPrefix));
}

TEST_CASE("an id with a character outside base64url is refused") {
    for (char bad : {'!', '+', '/', '=', ' ', '.', '%', '{', '\0', '\n'}) {
        for (size_t at : {size_t{0}, size_t{21}, size_t{22}, size_t{43}}) {
            std::string body = kTag + kSuffix;
            body[at] = bad;
            INFO("character " << static_cast<int>(bad) << " at " << at);
            CHECK_FALSE(verifyd::parse_record_id("vrf_" + body, kVerificationPrefix));
        }
    }
}

TEST_CASE("every key of one verification and its answers is in its number's partition") {
    const verifyd::RecordRef ref{kTag, kSuffix};
    const std::string tag = "{" + verifyd::partition_tag(verifyd::partition_of(kTag)) + "}" + kTag;
    CHECK(verifyd::number_key(kTag) == "n:" + tag);
    CHECK(verifyd::record_key(ref) == "o:" + tag + kSuffix);
    CHECK(verifyd::record_key_prefix(kTag) + kSuffix == verifyd::record_key(ref));
    CHECK(verifyd::idempotency_record_key(kTag, "name") == "r:" + tag + "name");
    CHECK(verifyd::claim_key("name") == "i:{name}");
    CHECK(verifyd::request_counter_key("key_1") == "k:key_1");
    const int slot = verifyd::redis_slot(verifyd::number_key(kTag));
    const auto& queues = verifyd::queues_of(kTag);
    for (const std::string& key : {verifyd::record_key(ref), queues.delivery, queues.undelivered,
                                   queues.delayed, queues.due, queues.events}) {
        INFO(key);
        CHECK(verifyd::redis_slot(key) == slot);
    }
}

TEST_CASE("a fraud guard slot's keys and its pause index are in the slot's partition") {
    const std::string slot_tag = "guard-slot-tag";
    const int slot = verifyd::redis_slot(verifyd::guard_key(slot_tag, "pauses"));
    CHECK(verifyd::redis_slot(verifyd::guard_key(slot_tag, "t:abc")) == slot);
    CHECK(verifyd::redis_slot(verifyd::queues_of(slot_tag).pauses) == slot);
    CHECK(verifyd::redis_slot(verifyd::queues_of(slot_tag).events) == slot);
}

TEST_CASE("a delivery job names its verification as {partition}<tag><suffix>, and is read back") {
    const verifyd::RecordRef ref{kTag, kSuffix};
    const std::string job = verifyd::job_ref(ref);
    CHECK(job == verifyd::record_key(ref).substr(2));
    const auto parsed = verifyd::parse_job_ref(job);
    REQUIRE(parsed);
    CHECK(parsed->tag == kTag);
    CHECK(parsed->suffix == kSuffix);
    CHECK_FALSE(verifyd::parse_job_ref(kTag + kSuffix));
    CHECK_FALSE(verifyd::parse_job_ref("{" + kTag));
    CHECK_FALSE(verifyd::parse_job_ref(job + "x"));
    CHECK_FALSE(verifyd::parse_job_ref(""));
}

TEST_CASE("the partitions' tags lie one in each equal share of the 16384 slots") {
    for (int count : {16, 256, 1000, 4096}) {
        verifyd::use_partitions(count);
        REQUIRE(verifyd::partition_count() == count);
        std::set<std::string> tags;
        for (int p = 0; p < count; ++p) {
            const int slot = verifyd::redis_slot("{" + verifyd::partition_tag(p) + "}");
            INFO("count " << count << ", partition " << p << ", slot " << slot);
            CHECK(slot >= p * 16384L / count);
            CHECK(slot < (p + 1) * 16384L / count);
            CHECK(tags.insert(verifyd::partition_tag(p)).second);
        }
    }
    verifyd::use_partitions(verifyd::kDefaultPartitions);
}

TEST_CASE("100,000 numbers' keys spread over three primaries within 5% of the mean") {
    // The slot ranges redis-cli --cluster create gives three primaries.
    const int first_slots[] = {0, 5461, 10923, 16384};
    long per_primary[3] = {0, 0, 0};
    const int numbers = 100000;
    for (int i = 0; i < numbers; ++i) {
        // Number tags are keyed hashes: any 22 characters of base64url spread alike.
        std::string tag = "n" + std::to_string(i * 7919);
        tag.resize(22, 'x');
        const int slot = verifyd::redis_slot(verifyd::number_key(tag));
        for (int primary = 0; primary < 3; ++primary)
            if (slot >= first_slots[primary] && slot < first_slots[primary + 1])
                ++per_primary[primary];
    }
    const double mean = numbers / 3.0;
    for (long count : per_primary) {
        INFO("keys per primary: " << per_primary[0] << ", " << per_primary[1] << ", "
                                  << per_primary[2]);
        CHECK(std::abs(count - mean) / mean < 0.05);
    }
}

TEST_CASE("a tag's partition is the same for every replica and within the count") {
    // Fixed across builds and releases: replicas of two releases share the keys (a rolling
    // update), so a tag's partition and its key's spelling must not change.
    verifyd::use_partitions(verifyd::kDefaultPartitions);
    CHECK(verifyd::partition_of(kTag) == 117);
    CHECK(verifyd::number_key(kTag) == "n:{p75.245}" + kTag);
    for (int i = 0; i < 1000; ++i) {
        const int p = verifyd::partition_of("tag" + std::to_string(i));
        CHECK(p >= 0);
        CHECK(p < verifyd::partition_count());
    }
}
