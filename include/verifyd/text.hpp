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

std::string trim(const std::string& text);

bool starts_with(std::string_view text, std::string_view prefix);

// ASCII letters folded to lower case; other bytes as they are.
std::string lowercase(std::string text);

// "a,b," → {"a", "b", ""}: an empty last part is kept so that callers can refuse it.
std::vector<std::string> split(const std::string& text, char separator);

}  // namespace verifyd
