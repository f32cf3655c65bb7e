// Fuzz target: a provider's HTTP answer (classify_answer). The input is the status
// (first line, decimal), "Retry-After: <value>" or anything else for no such header
// (second line), the channel (third line) and the body (the rest). The outcome must
// follow the status as §7 says, the retry delay stay within a day, and the error text
// be printable and bounded.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/delivery.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string rest = verifyd_fuzz::text_of(data, size);
    const long status = std::strtol(verifyd_fuzz::take_line(rest).c_str(), nullptr, 10);
    const std::string header_line = verifyd_fuzz::take_line(rest);
    const std::string prefix = "Retry-After: ";
    std::optional<std::string> retry_after;
    if (header_line.rfind(prefix, 0) == 0) {
        retry_after = header_line.substr(prefix.size());
    }
    const std::string channel = verifyd_fuzz::take_line(rest);

    const verifyd::DeliveryResult result =
        verifyd::classify_answer(status, rest, retry_after, channel);
    const bool success = status >= 200 && status < 300;
    const bool final_refusal =
        status >= 400 && status < 500 && status != 408 && status != 409 && status != 429;
    using verifyd::DeliveryOutcome;
    require((result.outcome == DeliveryOutcome::Sent) == success, "2xx and only 2xx is sent");
    require((result.outcome == DeliveryOutcome::Refused) == final_refusal,
            "a 4xx other than 408, 409 and 429 is refused for good");
    require(result.retry_after_seconds >= 0 && result.retry_after_seconds <= 86400,
            "a retry delay of at most a day");
    require(success || !result.error.empty(), "a failure says what happened");
    require(result.error.size() <= 303, "the error text is bounded");
    for (const char c : result.error) {
        require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "the error text is printable");
    }
    const std::string& reason = result.whatsapp_refusal;
    if (final_refusal && channel == "whatsapp") {
        require(reason == "recipient_not_capable" || reason == "template_not_approved" ||
                    reason == "channel_not_connected" || reason == "provider_error",
                "a refused WhatsApp message has a reason");
    } else {
        require(reason.empty(), "only a refused WhatsApp message has a reason");
    }
    return 0;
}
