// The Lua scripts of lua/, compiled into the binary at build time as one Redis function
// library (see cmake/embed_lua.cmake): loaded by every connection (FUNCTION LOAD), each
// script called as a function (FCALL). Not for: sending the calls (redis_lane, store).
#pragma once

#include <string>

namespace verifyd {

struct LuaLibrary {
    // verifyd_ and a hash of the sources: each release's library is its own, so two
    // releases can share a Redis during a rolling update.
    const char* name;
    const char* source;  // as FUNCTION LOAD takes it
};

const LuaLibrary& lua_library();

// The function that runs the script `script` (a file of lua/: "check", "outbox_begin").
inline std::string lua_function(const std::string& script) {
    return std::string(lua_library().name) + "_" + script;
}

}  // namespace verifyd
