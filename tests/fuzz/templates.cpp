// Fuzz target: message templates. The input is a locale (first line), the message's
// variables as JSON (second line) and a VERIFYD_TEMPLATES_FILE (the rest), parsed by
// Templates::parse (which throws std::runtime_error for a file it refuses) and rendered
// for that locale; with variables that are an object, the body always holds the code.
#include "verifyd/templates.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "fuzz_support.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string rest = verifyd_fuzz::text_of(data, size);
    const std::string locale = verifyd_fuzz::take_line(rest);
    nlohmann::json variables = nlohmann::json::parse(verifyd_fuzz::take_line(rest), nullptr, false);
    verifyd::Templates templates;
    try {
        templates = verifyd::Templates::parse(rest);
    } catch (const std::runtime_error&) {
        return 0;
    }
    const std::string code = "8361529470";
    if (variables.is_object()) {
        variables["code"] = code;
    }
    const std::string body = templates.render(locale, variables);
    require(!variables.is_object() || body.find(code) != std::string::npos,
            "the rendered body holds the code");
    return 0;
}
