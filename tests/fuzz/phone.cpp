// Fuzz target: phone validation (PhoneValidator::check), with every region allowed and
// with only US and GB; an accepted number is strict E.164 of a type that can receive a
// code, and a restricted validator accepts a subset of what an open one accepts.
#include "verifyd/phone.hpp"

#include <cstdint>
#include <string>

#include "fuzz_support.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const verifyd::PhoneValidator open;
    static const verifyd::PhoneValidator restricted({"US", "GB"});

    const std::string to = verifyd_fuzz::text_of(data, size);
    const verifyd::PhoneCheck any = open.check(to);
    const verifyd::PhoneCheck some = restricted.check(to);
    require(any.ok == any.problem.empty(), "a refusal says why, an acceptance does not");
    if (any.ok) {
        require(verifyd::is_strict_e164(to), "an accepted number is strict E.164");
        require(any.type == "MOBILE" || any.type == "FIXED_LINE_OR_MOBILE" || any.type == "VOIP" ||
                    any.type == "PERSONAL_NUMBER",
                "an accepted number can receive a code");
    }
    if (some.ok) {
        require(any.ok && (some.region == "US" || some.region == "GB"),
                "a restricted validator accepts only its regions");
    }
    return 0;
}
