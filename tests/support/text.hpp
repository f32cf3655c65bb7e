// String helpers the tests share: the HTTP parsers of the test client and the fake
// provider, and assertions on rendered text. Not for: verifyd's own text handling
// (verifyd/text.hpp), which the tests check rather than reuse.
#pragma once

#include <string>

namespace verifyd_test {

// Whether `a` and `b` are the same, ASCII case aside (header names, Connection values).
bool iequals(const std::string& a, const std::string& b);

// `s` without the spaces and tabs before it and the spaces, tabs and CR after it.
std::string trim(const std::string& s);

// Whether `part` occurs in `text`.
bool contains(const std::string& text, const std::string& part);

}  // namespace verifyd_test
