// Covers phone.hpp: strict E.164, the one canonical spelling, validity and OTP-capable types
// (libphonenumber), regions (§5.1).
#include "verifyd/phone.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;
using verifyd::PhoneCheck;
using verifyd::PhoneValidator;

namespace {

using Type = PhoneNumberUtil::PhoneNumberType;

// libphonenumber's own example of a type in a region, as E.164, checked to be of that type.
std::string example_number(const std::string& region, Type type) {
    const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    if (!util->GetExampleNumberForType(region, type, &number) ||
        util->GetNumberType(number) != type)
        throw std::logic_error("libphonenumber has no example of this type in " + region);
    std::string e164;
    util->Format(number, PhoneNumberUtil::E164, &e164);
    return e164;
}

// Lower case, with '_' and '-' read as spaces: "FIXED_LINE" matches "fixed-line" and "fixed line".
std::string normalized(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (c == '_' || c == '-') c = ' ';
    }
    return text;
}

bool mentions(const std::string& text, const std::string& word) {
    return normalized(text).find(normalized(word)) != std::string::npos;
}

struct TypeCase {
    const char* region;
    Type type;
    const char* name;
};

}  // namespace

TEST_CASE("strict E.164 is a plus then 7 to 15 digits, the first not zero") {
    for (const char* to : {"+14155552671", "+1234567", "+123456789012345", "+447400123456"}) {
        INFO(to);
        CHECK(verifyd::is_strict_e164(to));
    }
}

TEST_CASE("anything but strict E.164 is refused") {
    for (const char* to :
         {"14155552671", "+1 415 555 2671", "+1-415-555-2671", "(415) 555-2671", "+0123456789",
          "+123456", "+1234567890123456", "+1415555267a", "", "+", "++14155552671",
          "+14155552671\n", " +14155552671", "+1415555\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4"}) {
        INFO(to);
        CHECK_FALSE(verifyd::is_strict_e164(to));
    }
}

TEST_CASE("the validator refuses input that is not strict E.164") {
    const PhoneValidator validator;
    for (const char* to : {"14155552671", "+1 415 555 2671", "(415) 555-2671", "+0123456789",
                           "+1234567890123456", ""}) {
        INFO(to);
        const PhoneCheck check = validator.check(to);
        CHECK_FALSE(check.ok);
        CHECK_FALSE(check.problem.empty());
    }
}

TEST_CASE("a trunk prefix after the country code is refused, naming the canonical spelling") {
    const PhoneValidator validator;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"+4407911123456", "+447911123456"},    // GB's trunk prefix 0
        {"+114155552671", "+14155552671"},      // NANP's trunk prefix 1
        {"+55011961234567", "+5511961234567"},  // BR's national prefix 0
        {"+5703211234567", "+573211234567"},    // CO's national prefix 0
        {"+57053211234567", "+573211234567"},   // CO's 0 then carrier selection code 5
    };
    for (const auto& [written, canonical] : cases) {
        INFO(written << " is " << canonical);
        const PhoneCheck refused = validator.check(written);
        CHECK_FALSE(refused.ok);
        CHECK(refused.problem == "must be written " + canonical);
        const PhoneCheck accepted = validator.check(canonical);
        CHECK(accepted.ok);
        CHECK(accepted.problem.empty());
    }
}

TEST_CASE("every region's OTP-capable example numbers are accepted as libphonenumber writes them") {
    const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
    const PhoneValidator validator;
    std::set<std::string> regions;
    util->GetSupportedRegions(&regions);
    int accepted = 0;
    for (const std::string& region : regions) {
        for (const Type type :
             {Type::MOBILE, Type::FIXED_LINE_OR_MOBILE, Type::VOIP, Type::PERSONAL_NUMBER}) {
            PhoneNumber number;
            // Some regions' examples are of another type by the number's own lookup.
            if (!util->GetExampleNumberForType(region, type, &number) ||
                util->GetNumberType(number) != type)
                continue;
            std::string e164;
            util->Format(number, PhoneNumberUtil::E164, &e164);
            INFO(region << " " << e164);
            const PhoneCheck check = validator.check(e164);
            CHECK(check.ok);
            CHECK(check.problem.empty());
            ++accepted;
        }
    }
    CHECK(accepted > 250);
}

TEST_CASE("mobile, fixed-line-or-mobile, VoIP and personal numbers can receive a code") {
    const PhoneValidator validator;
    const std::vector<TypeCase> cases = {
        {"GB", Type::MOBILE, "MOBILE"}, {"IN", Type::MOBILE, "MOBILE"},
        {"DE", Type::MOBILE, "MOBILE"}, {"US", Type::FIXED_LINE_OR_MOBILE, "FIXED_LINE_OR_MOBILE"},
        {"GB", Type::VOIP, "VOIP"},     {"GB", Type::PERSONAL_NUMBER, "PERSONAL_NUMBER"},
    };
    for (const auto& c : cases) {
        const std::string to = example_number(c.region, c.type);
        INFO(c.region << " " << c.name << " " << to);
        const PhoneCheck check = validator.check(to);
        CHECK(check.ok);
        CHECK(check.type == c.name);
    }
}

TEST_CASE(
    "fixed-line, premium, shared-cost, toll-free, UAN, voicemail and pager numbers are "
    "refused, naming the type") {
    const PhoneValidator validator;
    const std::vector<TypeCase> cases = {
        {"GB", Type::FIXED_LINE, "FIXED_LINE"},
        {"DE", Type::FIXED_LINE, "FIXED_LINE"},
        {"GB", Type::PREMIUM_RATE, "PREMIUM_RATE"},
        {"DE", Type::SHARED_COST, "SHARED_COST"},
        {"GB", Type::TOLL_FREE, "TOLL_FREE"},
        {"US", Type::TOLL_FREE, "TOLL_FREE"},
        {"GB", Type::UAN, "UAN"},
        {"DE", Type::VOICEMAIL, "VOICEMAIL"},
        {"GB", Type::PAGER, "PAGER"},
    };
    for (const auto& c : cases) {
        const std::string to = example_number(c.region, c.type);
        INFO(c.region << " " << c.name << " " << to);
        const PhoneCheck check = validator.check(to);
        CHECK_FALSE(check.ok);
        CHECK(check.type == c.name);
        CHECK(mentions(check.problem, c.name));
    }
}

TEST_CASE("an E.164-shaped number that libphonenumber finds invalid is refused") {
    const PhoneValidator validator;
    for (const char* to : {"+10000000000", "+44123456", "+999123456789"}) {
        INFO(to);
        const PhoneCheck check = validator.check(to);
        CHECK_FALSE(check.ok);
        CHECK_FALSE(check.problem.empty());
    }
}

TEST_CASE("the validator finds valid exactly the numbers libphonenumber's IsValidNumber does") {
    const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
    const PhoneValidator validator;
    // Numbers around real ones: every region's examples with their last digits varied,
    // so that valid and invalid numbers of every shape come up.
    std::set<std::string> regions;
    util->GetSupportedRegions(&regions);
    int valid = 0, invalid = 0;
    for (const std::string& region : regions) {
        PhoneNumber example;
        if (!util->GetExampleNumberForType(region, PhoneNumberUtil::MOBILE, &example)) continue;
        std::string e164;
        util->Format(example, PhoneNumberUtil::E164, &e164);
        for (int variant = 0; variant < 20; ++variant) {
            std::string to = e164;
            to[to.size() - 1 - variant % 4] = static_cast<char>('0' + (variant * 7) % 10);
            if (variant >= 10) to.pop_back();
            if (!verifyd::is_strict_e164(to)) continue;
            PhoneNumber number;
            REQUIRE(util->Parse(to, "ZZ", &number) == PhoneNumberUtil::NO_PARSING_ERROR);
            const bool expected = util->IsValidNumber(number);
            INFO(region << " " << to);
            CHECK((validator.check(to).type != "UNKNOWN") == expected);
            ++(expected ? valid : invalid);
        }
    }
    CHECK(valid > 1000);
    CHECK(invalid > 1000);
}

TEST_CASE("allowed regions refuse a number from another region, naming its region") {
    const PhoneValidator validator({"GB"});
    const std::string us = example_number("US", Type::FIXED_LINE_OR_MOBILE);
    const PhoneCheck refused = validator.check(us);
    CHECK_FALSE(refused.ok);
    CHECK(refused.region == "US");
    CHECK(refused.problem.find("US") != std::string::npos);

    const PhoneCheck accepted = validator.check(example_number("GB", Type::MOBILE));
    CHECK(accepted.ok);
    CHECK(accepted.region == "GB");
}

TEST_CASE("no allowed regions means every region is allowed") {
    const PhoneValidator validator;
    CHECK(validator.check(example_number("US", Type::FIXED_LINE_OR_MOBILE)).ok);
    CHECK(validator.check(example_number("GB", Type::MOBILE)).ok);
    CHECK(validator.check(example_number("IN", Type::MOBILE)).ok);
}

TEST_CASE(
    "reading a number as written agrees with libphonenumber's Parse on every region's numbers") {
    const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
    const PhoneValidator validator;
    std::set<std::string> regions;
    util->GetSupportedRegions(&regions);
    const std::vector<Type> types = {PhoneNumberUtil::FIXED_LINE,     PhoneNumberUtil::MOBILE,
                                     PhoneNumberUtil::TOLL_FREE,      PhoneNumberUtil::VOIP,
                                     PhoneNumberUtil::PAGER,          PhoneNumberUtil::UAN,
                                     PhoneNumberUtil::PERSONAL_NUMBER};
    int accepted = 0, written_otherwise = 0, invalid = 0;
    for (const std::string& region : regions) {
        std::string trunk_prefix;
        util->GetNddPrefixForRegion(region, true, &trunk_prefix);
        for (const Type type : types) {
            PhoneNumber example;
            if (!util->GetExampleNumberForType(region, type, &example)) continue;
            std::string e164;
            util->Format(example, PhoneNumberUtil::E164, &e164);
            const std::string country_code = std::to_string(example.country_code());
            // The example, its last digits varied, one digit shorter, and written with a
            // trunk prefix (the region's, and 0) after the country code.
            std::vector<std::string> variants = {e164};
            for (int variant = 0; variant < 12; ++variant) {
                std::string to = e164;
                to[to.size() - 1 - variant % 4] = static_cast<char>('0' + (variant * 7) % 10);
                if (variant >= 8) to.pop_back();
                variants.push_back(to);
            }
            for (const std::string& prefix : {trunk_prefix, std::string("0")})
                if (!prefix.empty())
                    variants.push_back(e164.substr(0, 1 + country_code.size()) + prefix +
                                       e164.substr(1 + country_code.size()));
            for (const std::string& to : variants) {
                if (!verifyd::is_strict_e164(to)) continue;
                INFO(region << " " << to);
                // What Parse alone makes of it: the validator's reading before it read
                // numbers as written.
                PhoneNumber parsed;
                auto parsed_type = PhoneNumberUtil::UNKNOWN;
                if (util->Parse(to, "ZZ", &parsed) == PhoneNumberUtil::NO_PARSING_ERROR)
                    parsed_type = util->GetNumberType(parsed);
                const PhoneCheck checked = validator.check(to);
                if (parsed_type == PhoneNumberUtil::UNKNOWN) {
                    CHECK(checked.type == "UNKNOWN");
                    ++invalid;
                    continue;
                }
                std::string canonical;
                util->Format(parsed, PhoneNumberUtil::E164, &canonical);
                if (canonical != to) {
                    CHECK(checked.problem == "must be written " + canonical);
                    ++written_otherwise;
                    continue;
                }
                CHECK(checked.type != "UNKNOWN");
                CHECK(checked.problem.find("must be written") == std::string::npos);
                ++accepted;
            }
        }
    }
    CHECK(accepted > 1000);
    CHECK(written_otherwise > 100);
    CHECK(invalid > 1000);
}

TEST_CASE(
    "the sandbox's test numbers (…000102, …000103, …000104) are valid mobiles in several "
    "countries") {
    // The ones docs/API.md lists; each must pass the checks a send makes.
    const PhoneValidator validator;
    for (const char* suffix : {"000102", "000103", "000104"}) {
        for (const char* prefix :
             {"+14152", "+447911", "+33612", "+4915112", "+919876", "+5511961"}) {
            const std::string number = std::string(prefix) + suffix;
            INFO(number);
            const PhoneCheck check = validator.check(number);
            CHECK(check.ok);
            CHECK(check.problem.empty());
        }
    }
}

TEST_CASE("a number's region is its ISO country, for metrics by country") {
    const PhoneValidator validator;
    CHECK(validator.region_of("+14155552671") == "US");
    CHECK(validator.region_of("+447400123456") == "GB");
    CHECK(validator.region_of("+33612345678") == "FR");
}
