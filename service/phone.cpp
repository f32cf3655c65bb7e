// Phone validation with libphonenumber. Strictness comes first: anything that is not
// already `+` and digits is refused before libphonenumber, which would happily parse
// national formats, spaces and punctuation, and a valid number must then be spelt as
// libphonenumber formats it.
#include "verifyd/phone.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace verifyd {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

const char* type_name(PhoneNumberUtil::PhoneNumberType type) {
    switch (type) {
        case PhoneNumberUtil::FIXED_LINE:
            return "FIXED_LINE";
        case PhoneNumberUtil::MOBILE:
            return "MOBILE";
        case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
            return "FIXED_LINE_OR_MOBILE";
        case PhoneNumberUtil::TOLL_FREE:
            return "TOLL_FREE";
        case PhoneNumberUtil::PREMIUM_RATE:
            return "PREMIUM_RATE";
        case PhoneNumberUtil::SHARED_COST:
            return "SHARED_COST";
        case PhoneNumberUtil::VOIP:
            return "VOIP";
        case PhoneNumberUtil::PERSONAL_NUMBER:
            return "PERSONAL_NUMBER";
        case PhoneNumberUtil::PAGER:
            return "PAGER";
        case PhoneNumberUtil::UAN:
            return "UAN";
        case PhoneNumberUtil::VOICEMAIL:
            return "VOICEMAIL";
        case PhoneNumberUtil::UNKNOWN:
            return "UNKNOWN";
    }
    return "UNKNOWN";
}

bool can_receive_code(PhoneNumberUtil::PhoneNumberType type) {
    return type == PhoneNumberUtil::MOBILE || type == PhoneNumberUtil::FIXED_LINE_OR_MOBILE ||
           type == PhoneNumberUtil::VOIP || type == PhoneNumberUtil::PERSONAL_NUMBER;
}

// `to` (strict E.164) read as E.164 spells a number: the country code, the shortest of
// one to three leading digits that is one, then the national significant number, whose
// leading zeros libphonenumber keeps in two fields. Parse reads the same text through
// several regular expressions, for formatting E.164 does not have, and would also drop a
// trunk prefix written after the country code; nullopt when no country code fits.
std::optional<PhoneNumber> literal_number(const std::string& to, const PhoneNumberUtil& util) {
    const std::string digits = to.substr(1);
    for (size_t length = 1; length <= 3 && length < digits.size(); ++length) {
        const int country_code = std::stoi(digits.substr(0, length));
        std::string region;
        util.GetRegionCodeForCountryCode(country_code, &region);
        if (region == "ZZ") continue;
        const std::string national = digits.substr(length);
        PhoneNumber number;
        number.set_country_code(country_code);
        number.set_national_number(std::stoull(national));
        const size_t zeros = std::min(national.find_first_not_of('0'), national.size() - 1);
        if (zeros > 0) {
            number.set_italian_leading_zero(true);
            if (zeros > 1) number.set_number_of_leading_zeros(static_cast<int>(zeros));
        }
        return number;
    }
    return std::nullopt;
}

}  // namespace

bool is_strict_e164(const std::string& to) {
    if (to.size() < 8 || to.size() > 16 || to[0] != '+' || to[1] == '0') return false;
    return std::all_of(to.begin() + 1, to.end(),
                       [](unsigned char c) { return std::isdigit(c) != 0; });
}

PhoneValidator::PhoneValidator(std::set<std::string> allowed_regions)
    : allowed_regions_(std::move(allowed_regions)) {}

PhoneCheck PhoneValidator::check(const std::string& to) const {
    PhoneCheck result;
    if (!is_strict_e164(to)) {
        result.problem = "must be strict E.164: + then 7 to 15 digits, no spaces or punctuation";
        return result;
    }
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    // GetNumberType answers UNKNOWN exactly when IsValidNumber says no, and each of them,
    // like GetRegionCodeForNumber, searches the regions of the country code (25 for +1)
    // by pattern: the type is asked for once, the region only when regions are limited.
    // The number as written is read first; only one that is not valid as written goes
    // through Parse, which may find it written with a trunk prefix (refused below).
    auto type = PhoneNumberUtil::UNKNOWN;
    std::optional<PhoneNumber> literal = literal_number(to, util);
    if (literal) type = util.GetNumberType(*literal);
    PhoneNumber number;
    if (type != PhoneNumberUtil::UNKNOWN)
        number = *literal;
    else if (util.Parse(to, "ZZ", &number) == PhoneNumberUtil::NO_PARSING_ERROR)
        type = util.GetNumberType(number);
    result.type = type_name(type);
    if (type == PhoneNumberUtil::UNKNOWN) {
        result.problem = "is not a valid phone number";
        return result;
    }
    // Parse drops a trunk prefix or carrier code written after the country code
    // (+4407911123456 is +447911123456), so a number has more than one strict E.164
    // spelling; only the one libphonenumber formats is taken, as limits are keyed by `to`.
    std::string canonical;
    util.Format(number, PhoneNumberUtil::E164, &canonical);
    if (canonical != to) {
        result.problem = "must be written " + canonical;
        return result;
    }
    if (!can_receive_code(type)) {
        result.problem = "is a " + result.type + " number, which cannot receive a code";
        return result;
    }
    if (!allowed_regions_.empty()) {
        util.GetRegionCodeForNumber(number, &result.region);
        if (!allowed_regions_.count(result.region)) {
            result.problem = "is in region " + (result.region.empty() ? "unknown" : result.region) +
                             ", which is not allowed";
            return result;
        }
    }
    result.ok = true;
    return result;
}

std::string PhoneValidator::region_of(const std::string& to) const {
    const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
    std::optional<PhoneNumber> number = literal_number(to, util);
    if (!number) return {};
    std::string region;
    util.GetRegionCodeForNumber(*number, &region);
    return region == "ZZ" ? std::string() : region;
}

}  // namespace verifyd
