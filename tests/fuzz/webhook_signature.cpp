// Fuzz target: a webhook receiver's check (verify_webhook_signature) of any header. The
// input is the secret (first line), the X-Verifyd-Signature header (second), the
// receiver's clock (third, unix seconds), the tolerance (fourth, seconds) and the raw
// body (the rest). Then the round trip: a header made by webhook_signature for that
// body verifies, and it does not for another body, another secret or a time out of
// tolerance.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/delivery.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string rest = verifyd_fuzz::text_of(data, size);
    const std::string secret = verifyd_fuzz::take_line(rest);
    const std::string header = verifyd_fuzz::take_line(rest);
    const int64_t now = std::strtoll(verifyd_fuzz::take_line(rest).c_str(), nullptr, 10);
    const long tolerance = std::strtol(verifyd_fuzz::take_line(rest).c_str(), nullptr, 10);
    const std::string& body = rest;

    verifyd::verify_webhook_signature(secret, header, body, now, static_cast<int>(tolerance));

    // Signatures are made from the sender's clock: whole seconds from 1970 to year 9999.
    if (now < 0 || now > 253402300799) {
        return 0;
    }
    const std::string signed_now = verifyd::webhook_signature(secret, now, body);
    require(verifyd::verify_webhook_signature(secret, signed_now, body, now, 0),
            "a signature verifies");
    require(!verifyd::verify_webhook_signature(secret, signed_now, body + "x", now, 0),
            "a signature does not verify another body");
    require(!verifyd::verify_webhook_signature(secret + "x", signed_now, body, now, 0),
            "a signature does not verify with another secret");
    require(!verifyd::verify_webhook_signature(secret, signed_now, body, now + 301, 300),
            "a signature out of tolerance does not verify");
    return 0;
}
