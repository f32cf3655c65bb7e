// Fuzz target: text.hpp's UTF-8 rules held against nlohmann's, which writes the answers:
// what is_utf8 accepts JSON writes without an error and what it refuses JSON refuses
// too, so that a value refused at the door is exactly one that would fail in an answer;
// utf8_length counts one to four bytes a character.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/text.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text = verifyd_fuzz::text_of(data, size);
    bool written = true;
    try {
        (void)nlohmann::json(text).dump();
    } catch (const nlohmann::json::type_error&) {
        written = false;
    }
    require(verifyd::is_utf8(text) == written, "is_utf8 agrees with what JSON can write");
    if (written) {
        const size_t characters = verifyd::utf8_length(text);
        require(characters <= text.size() && characters * 4 >= text.size(),
                "a character is one to four bytes");
    }
    return 0;
}
