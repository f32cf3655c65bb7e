// Covers crypto.hpp: code generation and its uniformity, code and key hashes, tokens, number tags.
#include "verifyd/crypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "support/test_keys.hpp"

using verifyd::HashKey;
using verifyd_test::hash_key_filled_with;

namespace {

// The 10^-7 critical value of the chi-square distribution with 9 degrees of freedom: the
// seven uniformity checks below fail by chance less than once in a million runs. The
// samples are large enough that a digit taken as a random byte modulo 10 (0 to 5 a
// little likelier, 26 in 256) lands far above it: about 73 over 200,000 draws.
constexpr double kChiSquare9AtOneIn10Million = 50.17;

bool all_digits(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool url_safe(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

bool alphanumeric(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    });
}

double chi_square(const std::array<long, 10>& counts) {
    long total = 0;
    for (long n : counts) total += n;
    const double expected = static_cast<double>(total) / 10.0;
    double sum = 0;
    for (long n : counts) sum += (n - expected) * (n - expected) / expected;
    return sum;
}

std::string blake2b_256_hex(const std::string& data) {
    unsigned char out[32];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size(), nullptr, 0);
    return verifyd::to_hex(std::string(reinterpret_cast<const char*>(out), sizeof out));
}

}  // namespace

TEST_CASE("a code has exactly the asked number of digits, 4 to 10") {
    verifyd::init_crypto();
    for (int length = 4; length <= 10; ++length) {
        for (int i = 0; i < 200; ++i) {
            const std::string code = verifyd::generate_code(length);
            INFO("length " << length << ": " << code);
            REQUIRE(code.size() == static_cast<size_t>(length));
            REQUIRE(all_digits(code));
        }
    }
}

TEST_CASE("codes may start with a zero, about one time in ten") {
    verifyd::init_crypto();
    int leading_zeros = 0;
    for (int i = 0; i < 20000; ++i) {
        if (verifyd::generate_code(4)[0] == '0') ++leading_zeros;
    }
    CHECK(leading_zeros > 1500);
    CHECK(leading_zeros < 2500);
}

TEST_CASE("the digits of codes are uniform by a chi-square test") {
    verifyd::init_crypto();
    std::array<long, 10> counts{};
    for (int i = 0; i < 100000; ++i) {
        for (char c : verifyd::generate_code(10)) ++counts[c - '0'];
    }
    CHECK(chi_square(counts) < kChiSquare9AtOneIn10Million);
}

TEST_CASE("each position of a six-digit code is uniform by a chi-square test") {
    verifyd::init_crypto();
    std::array<std::array<long, 10>, 6> counts{};
    for (int i = 0; i < 200000; ++i) {
        const std::string code = verifyd::generate_code(6);
        REQUIRE(code.size() == 6);
        for (size_t p = 0; p < 6; ++p) ++counts[p][code[p] - '0'];
    }
    for (size_t p = 0; p < 6; ++p) {
        INFO("position " << p);
        CHECK(chi_square(counts[p]) < kChiSquare9AtOneIn10Million);
    }
}

TEST_CASE("two codes drawn in a row are not always equal") {
    verifyd::init_crypto();
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) seen.insert(verifyd::generate_code(10));
    CHECK(seen.size() > 95);
}

TEST_CASE("a code hash is 16 bytes and depends on the key, the id and the code") {
    verifyd::init_crypto();
    const HashKey key = hash_key_filled_with(0x11);
    const std::string id = "vrf_AAAAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBBBB";
    const std::string hash = verifyd::code_hash(key, id, "123456");
    CHECK(hash.size() == 16);
    CHECK(verifyd::code_hash(key, id, "123456") == hash);
    CHECK(verifyd::code_hash(hash_key_filled_with(0x12), id, "123456") != hash);
    CHECK(verifyd::code_hash(key, "vrf_AAAAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBBBC", "123456") !=
          hash);
    CHECK(verifyd::code_hash(key, id, "123457") != hash);
    CHECK(verifyd::code_hash(key, id, "0123456") != hash);
    CHECK(verifyd::code_hash(key, id, "") != hash);
}

TEST_CASE("a code hash is keyed BLAKE2b-128 over the purpose label, the id and the code") {
    verifyd::init_crypto();
    const HashKey key = hash_key_filled_with(0x5a);
    const std::string id = "vrf_AAAAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBBBB";
    const std::string input = std::string("verifyd code") + '\0' + id + '\0' + "042917";
    unsigned char expected[16];
    crypto_generichash(expected, sizeof expected,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                       key.data(), key.size());
    CHECK(verifyd::code_hash(key, id, "042917") ==
          std::string(reinterpret_cast<const char*>(expected), sizeof expected));
}

TEST_CASE("moving characters between the id and the code changes the code hash") {
    verifyd::init_crypto();
    const HashKey key = hash_key_filled_with(0x5a);
    CHECK(verifyd::code_hash(key, "vrf_ab", "123") != verifyd::code_hash(key, "vrf_ab1", "23"));
    CHECK(verifyd::code_hash(key, "vrf_ab1", "23") != verifyd::code_hash(key, "vrf_ab12", "3"));
}

TEST_CASE("a code hash is not the unkeyed hash of the code") {
    verifyd::init_crypto();
    const std::string hash =
        verifyd::to_hex(verifyd::code_hash(hash_key_filled_with(0), "vrf_x", "123456"));
    CHECK(hash != blake2b_256_hex("123456"));
    CHECK(hash != blake2b_256_hex("vrf_x123456"));
}

TEST_CASE("constant-time comparison is equality of bytes and of lengths") {
    CHECK(verifyd::equal_constant_time("abc", "abc"));
    CHECK(verifyd::equal_constant_time("", ""));
    CHECK_FALSE(verifyd::equal_constant_time("abc", "abd"));
    CHECK_FALSE(verifyd::equal_constant_time("abc", "bbc"));
    CHECK_FALSE(verifyd::equal_constant_time("abc", "abcd"));
    CHECK_FALSE(verifyd::equal_constant_time("abcd", "abc"));
    CHECK_FALSE(verifyd::equal_constant_time("", "a"));
    CHECK_FALSE(verifyd::equal_constant_time("a", ""));
    const std::string a("\0\x01\x02", 3);
    const std::string b("\0\x01\x03", 3);
    CHECK(verifyd::equal_constant_time(a, std::string("\0\x01\x02", 3)));
    CHECK_FALSE(verifyd::equal_constant_time(a, b));
    CHECK_FALSE(verifyd::equal_constant_time(std::string("\0", 1), std::string("\0\0", 2)));
}

TEST_CASE("an API key hash is the unkeyed BLAKE2b-256 of the key, lowercase hex") {
    verifyd::init_crypto();
    CHECK(verifyd::api_key_hash("abc") ==
          "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    const std::string key = "sk_test_0123456789abcdefghijABCDEFGHIJ0123";
    CHECK(verifyd::api_key_hash(key) == blake2b_256_hex(key));
}

TEST_CASE("to_hex writes two lowercase digits per byte") {
    CHECK(verifyd::to_hex(std::string("\x00\xff\x10\xab", 4)) == "00ff10ab");
    CHECK(verifyd::to_hex("") == "");
}

TEST_CASE("a random token is base64url without padding and differs between draws") {
    verifyd::init_crypto();
    const std::string a = verifyd::random_token(16);
    const std::string b = verifyd::random_token(16);
    CHECK(a.size() == 22);
    CHECK(url_safe(a));
    CHECK(url_safe(b));
    CHECK(a != b);
    CHECK(verifyd::random_token(32).size() == 43);
    CHECK(verifyd::random_token(3).size() == 4);
}

TEST_CASE("random tokens use the whole base64url alphabet") {
    verifyd::init_crypto();
    std::set<char> seen;
    for (int i = 0; i < 200; ++i) {
        for (char c : verifyd::random_token(30)) seen.insert(c);
    }
    CHECK(seen.size() == 64);
}

TEST_CASE("random alphanumerics have the asked length and use all 62 characters") {
    verifyd::init_crypto();
    CHECK(verifyd::random_alphanumeric(0).empty());
    CHECK(verifyd::random_alphanumeric(40).size() == 40);
    std::set<char> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string s = verifyd::random_alphanumeric(100);
        REQUIRE(s.size() == 100);
        REQUIRE(alphanumeric(s));
        seen.insert(s.begin(), s.end());
    }
    CHECK(seen.size() == 62);
    CHECK(verifyd::random_alphanumeric(32) != verifyd::random_alphanumeric(32));
}

TEST_CASE(
    "a number tag is 22 URL-safe characters, stable, and differs per account, mode, number "
    "and key") {
    verifyd::init_crypto();
    const HashKey key = hash_key_filled_with(0x42);
    const std::string tag = verifyd::number_tag(key, "acct_a", false, "+14155552671");
    CHECK(tag.size() == 22);
    CHECK(url_safe(tag));
    CHECK(verifyd::number_tag(key, "acct_a", false, "+14155552671") == tag);
    CHECK(verifyd::number_tag(key, "acct_b", false, "+14155552671") != tag);
    CHECK(verifyd::number_tag(key, "acct_a", false, "+14155552672") != tag);
    CHECK(verifyd::number_tag(hash_key_filled_with(0x43), "acct_a", false, "+14155552671") != tag);
    CHECK(verifyd::number_tag(key, "acct_a", true, "+14155552671") != tag);
}

TEST_CASE("moving characters between the account and the number changes the number tag") {
    verifyd::init_crypto();
    const HashKey key = hash_key_filled_with(0x42);
    CHECK(verifyd::number_tag(key, "acct_a", false, "+14155552671") !=
          verifyd::number_tag(key, "acct_a+", false, "14155552671"));
    CHECK(verifyd::number_tag(key, "acct_a+1", false, "4155552671") !=
          verifyd::number_tag(key, "acct_a+", false, "14155552671"));
}

TEST_CASE("a number tag never shows the number") {
    verifyd::init_crypto();
    const HashKey key = hash_key_filled_with(0x42);
    for (const char* number : {"+14155552671", "+447400123456", "+4915123456789"}) {
        const std::string tag = verifyd::number_tag(key, "acct_a", false, number);
        INFO(number << " -> " << tag);
        CHECK(tag.find(number + 1) == std::string::npos);
        CHECK(tag.find(std::string(number + 1).substr(0, 7)) == std::string::npos);
    }
}

TEST_CASE("a sealed code opens with its key and verification id, and with nothing else") {
    verifyd::init_crypto();
    HashKey key{};
    key.fill(7);
    HashKey other = key;
    other[0] = 8;
    const std::string sealed = verifyd::seal_code(key, "vrf_a", "0123456789");
    CHECK(sealed.find("0123456789") == std::string::npos);
    CHECK(sealed.size() == 24 + 10 + 16);
    CHECK(verifyd::open_code(key, "vrf_a", sealed) == std::optional<std::string>("0123456789"));
    CHECK_FALSE(verifyd::open_code(other, "vrf_a", sealed));
    CHECK_FALSE(verifyd::open_code(key, "vrf_b", sealed));
    std::string tampered = sealed;
    tampered[30] = static_cast<char>(tampered[30] ^ 1);
    CHECK_FALSE(verifyd::open_code(key, "vrf_a", tampered));
    CHECK_FALSE(verifyd::open_code(key, "vrf_a", sealed.substr(0, 20)));
}

TEST_CASE("sealing the same code twice gives different boxes") {
    verifyd::init_crypto();
    HashKey key{};
    CHECK(verifyd::seal_code(key, "vrf_a", "123456") != verifyd::seal_code(key, "vrf_a", "123456"));
}

TEST_CASE("the derived seal key differs from the hash key and is stable") {
    HashKey hash_key{};
    hash_key.fill(3);
    CHECK(verifyd::derive_seal_key(hash_key) == verifyd::derive_seal_key(hash_key));
    CHECK(verifyd::derive_seal_key(hash_key) != hash_key);
}

TEST_CASE("the number key opens only with the hash key it was sealed with") {
    verifyd::init_crypto();
    const HashKey number_key = hash_key_filled_with(0x11);
    const std::string sealed = verifyd::seal_number_key(hash_key_filled_with(0x22), number_key);
    CHECK(verifyd::open_number_key(hash_key_filled_with(0x22), sealed) == number_key);
    CHECK_FALSE(verifyd::open_number_key(hash_key_filled_with(0x23), sealed));
    std::string tampered = sealed;
    tampered.back() ^= 1;
    CHECK_FALSE(verifyd::open_number_key(hash_key_filled_with(0x22), tampered));
    CHECK(verifyd::key_id(hash_key_filled_with(0x22)).size() == 16);
    CHECK(verifyd::key_id(hash_key_filled_with(0x22)) !=
          verifyd::key_id(hash_key_filled_with(0x23)));
}
