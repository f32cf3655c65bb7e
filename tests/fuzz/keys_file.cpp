// Fuzz target: the API keys file (KeyRing::parse, which throws std::runtime_error for a
// file it refuses), then authentication against what it accepted; a presented key is
// either authenticated or refused with a code, never both or neither.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/keys.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    verifyd::KeyRing ring;
    try {
        ring = verifyd::KeyRing::parse(verifyd_fuzz::text_of(data, size), 6000);
    } catch (const std::runtime_error&) {
        return 0;
    }
    for (const char* key : {"sk_test_0123456789abcdefghijABCDEFGHIJ0123456789",
                            "sk_live_0123456789abcdefghijABCDEFGHIJ0123456789", "sk_test_short"}) {
        const verifyd::AuthResult result = ring.authenticate(key, 1764000000);
        require((result.key != nullptr) != result.error.has_value(),
                "a key is either authenticated or refused");
    }
    return 0;
}
