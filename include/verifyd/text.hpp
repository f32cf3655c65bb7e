// Small text rules shared by every parser (settings, URLs, query strings), so that
// "a number" or "percent-encoding" means the same thing everywhere.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace verifyd {

// Only ASCII digits, no sign, no spaces, at most 18 of them.
std::optional<long long> parse_whole_number(const std::string& text);

// %XX escapes decoded; '+' stays '+' (a phone number's, not a form's space).
std::optional<std::string> percent_decode(const std::string& text);

// Without the spaces, tabs, CRs and LFs around it.
std::string trim(const std::string& text);
std::string_view trim_view(std::string_view text);

bool starts_with(std::string_view text, std::string_view prefix);

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past
// U+10FFFF): what JSON can carry, so that a decoded /v2 form value is refused at the door
// instead of failing when it is written into a record or an answer.
bool is_utf8(std::string_view text);
// The characters (code points) of well-formed UTF-8 text: the unit of the API's length
// limits, which count characters, not bytes.
size_t utf8_length(std::string_view text);

// ASCII letters folded to lower case; other bytes as they are.
std::string lowercase(std::string text);

// A Content-Type's media type, lower case, without its parameters and the spaces
// around it: "Application/JSON; charset=utf-8" → "application/json".
std::string media_type(const std::string& content_type);

// "a,b," → {"a", "b", ""}: an empty last part is kept so that callers can refuse it.
std::vector<std::string> split(const std::string& text, char separator);

}  // namespace verifyd
