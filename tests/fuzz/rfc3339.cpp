// Fuzz target: RFC 3339 timestamps (parse_rfc3339, used for a key's expires_at); a
// canonical UTC time of year 1000 to 9999 formats back to itself (format_rfc3339).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/keys.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text = verifyd_fuzz::text_of(data, size);
    const auto seconds = verifyd::parse_rfc3339(text);
    if (!seconds) {
        return 0;
    }
    // "YYYY-MM-DDTHH:MM:SSZ" without a leap second: the shape format_rfc3339 writes.
    const bool canonical = text.size() == 20 && text[10] == 'T' && text[19] == 'Z' &&
                           text[0] != '0' && text.compare(17, 2, "60") != 0;
    if (canonical) {
        require(verifyd::format_rfc3339(*seconds * 1000) == text,
                "a canonical time formats back to itself");
    }
    return 0;
}
