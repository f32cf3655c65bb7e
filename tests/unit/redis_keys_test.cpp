// Covers redis_keys.hpp: record ids (vrf_, msg_) and their keys, and delivery job refs.
#include "verifyd/redis_keys.hpp"

#include <catch2/catch.hpp>
#include <string>

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

TEST_CASE("every key of one verification and its answers shares its number's hash tag") {
    const verifyd::RecordRef ref{kTag, kSuffix};
    const std::string tag = "{" + kTag + "}";
    CHECK(verifyd::number_key(kTag) == "n:" + tag);
    CHECK(verifyd::record_key(ref) == "o:" + tag + kSuffix);
    CHECK(verifyd::record_key_prefix(kTag) + kSuffix == verifyd::record_key(ref));
    CHECK(verifyd::idempotency_record_key(kTag, "name") == "r:" + tag + "name");
    CHECK(verifyd::claim_key("name") == "i:{name}");
    CHECK(verifyd::request_counter_key("key_1") == "k:key_1");
}

TEST_CASE("a delivery job names its verification as {tag}suffix, and is read back") {
    const verifyd::RecordRef ref{kTag, kSuffix};
    const std::string job = verifyd::job_ref(ref);
    CHECK(job == "{" + kTag + "}" + kSuffix);
    const auto parsed = verifyd::parse_job_ref(job);
    REQUIRE(parsed);
    CHECK(parsed->tag == kTag);
    CHECK(parsed->suffix == kSuffix);
    CHECK_FALSE(verifyd::parse_job_ref(kTag + kSuffix));
    CHECK_FALSE(verifyd::parse_job_ref("{" + kTag));
    CHECK_FALSE(verifyd::parse_job_ref(""));
}
