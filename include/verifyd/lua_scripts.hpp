// The Lua scripts of lua/, compiled into the binary at build time (see
// cmake/embed_lua.cmake). Each source already begins with its shared preamble (lua/lib/).
#pragma once

#include <string>
#include <vector>

namespace verifyd {

struct LuaScript {
    const char* name;  // file name without .lua
    const char* source;
};

const std::vector<LuaScript>& lua_scripts();

}  // namespace verifyd
