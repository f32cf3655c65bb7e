// Who makes a request, as the store's scripts need it: the account whose data it may
// see, the API key whose request limit it counts against, and its mode. Not for: how a
// key is authenticated (keys.hpp, credentials.hpp).
#pragma once

#include <string>

namespace verifyd {

// Who is asking, for the per-key request limit that every script applies first, and in
// which mode: a request sees only verifications of its own mode (§3).
struct Caller {
    std::string account;
    std::string key_id;
    int requests_per_minute = 0;
    bool sandbox = false;
};

// A mode as the scripts and the keyed names spell it: "s" sandbox, "l" live.
inline const char* mode_letter(bool sandbox) {
    return sandbox ? "s" : "l";
}

}  // namespace verifyd
