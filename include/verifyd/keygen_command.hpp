// The `verifyd keygen` command: reads its options and prints a new API key with its
// keys-file entry, or a new hash key. Not for: what a key and an entry are (keys.hpp),
// nor the rest of the command line (main.cpp).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace verifyd {

// A command line verifyd cannot run; what() says what is wrong with it.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs `verifyd keygen ARGS…` (`args` follow "keygen"), printing to stdout. Throws
// UsageError for an unknown, incomplete or missing option.
void keygen_command(const std::vector<std::string>& args);

}  // namespace verifyd
