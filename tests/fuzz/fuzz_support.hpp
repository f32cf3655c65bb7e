// What the fuzz targets of tests/fuzz share: splitting an input into the lines that a
// target reads its parts from (so that seed inputs stay readable), and a property check
// that stops the run like a crash, so that libFuzzer keeps the input that broke it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace verifyd_fuzz {

// The input as text: parsers take std::string, and any byte may be in it.
inline std::string text_of(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// The text before the first '\n' of `rest` (all of it when there is none), removed from
// `rest` together with that '\n'.
inline std::string take_line(std::string& rest) {
    const size_t end = rest.find('\n');
    std::string line = rest.substr(0, end);
    rest.erase(0, end == std::string::npos ? rest.size() : end + 1);
    return line;
}

// Aborts with `property` on stderr when it does not hold: a finding, like a crash.
inline void require(bool holds, const char* property) {
    if (!holds) {
        std::fprintf(stderr, "fuzz property violated: %s\n", property);
        std::abort();
    }
}

}  // namespace verifyd_fuzz
