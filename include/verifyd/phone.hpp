// Phone number rules of §5.1: strict E.164 in the number's one canonical spelling
// (libphonenumber's E.164 formatting), valid by libphonenumber, of a type that can
// receive a code, from an allowed region. Not for: formatting or normalising input;
// anything that is not already canonical E.164 is refused (the refusal names the form).
#pragma once

#include <set>
#include <string>

namespace verifyd {

struct PhoneCheck {
    bool ok = false;
    std::string problem;  // human-readable, for details.to
    std::string region;   // ISO 3166 alpha-2; looked up only when regions are limited
                          // (a second search of the country code's regions)
    std::string type;     // libphonenumber's type name, e.g. MOBILE, FIXED_LINE
};

class PhoneValidator {
  public:
    explicit PhoneValidator(std::set<std::string> allowed_regions = {});
    PhoneCheck check(const std::string& to) const;
    // The ISO 3166 region of a number that passed check (for metrics by country);
    // empty when libphonenumber knows none.
    std::string region_of(const std::string& to) const;

  private:
    std::set<std::string> allowed_regions_;
};

// `+` then 7–15 digits, the first not zero.
bool is_strict_e164(const std::string& to);

}  // namespace verifyd
