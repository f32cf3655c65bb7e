# Writes OUTPUT, a C++ file that defines verifyd::lua_scripts() with the source of every
# script. Every script begins with lua/lib/common.lua and lua/lib/record.lua; lua/*.lua
# (API scripts, named by file) then with lua/lib/key_limit.lua and lua/lib/idempotency.lua;
# lua/outbox/*.lua (delivery scripts, named outbox_<file>) and lua/idempotency/*.lua
# (named idempotency_<file>) with nothing more, since they count no API key's request.
cmake_minimum_required(VERSION 3.18)
file(READ ${LUA_DIR}/lib/common.lua common_source)
file(READ ${LUA_DIR}/lib/record.lua record_source)
string(APPEND common_source "\n${record_source}")
file(READ ${LUA_DIR}/lib/key_limit.lua key_limit_source)
file(READ ${LUA_DIR}/lib/idempotency.lua idempotency_source)

set(body "// Generated from lua/ by cmake/embed_lua.cmake. Do not edit.\n")
string(APPEND body "#include \"verifyd/lua_scripts.hpp\"\n\nnamespace verifyd {\n\n")
string(APPEND body "const std::vector<LuaScript>& lua_scripts() {\n")
string(APPEND body "    static const std::vector<LuaScript> scripts = {\n")

function(embed_scripts folder name_prefix preamble)
  file(GLOB paths ${LUA_DIR}/${folder}*.lua)
  list(SORT paths)
  foreach(path ${paths})
    get_filename_component(name ${path} NAME_WE)
    file(READ ${path} source)
    string(APPEND body
           "        {\"${name_prefix}${name}\", R\"VERIFYD_LUA(${preamble}\n${source})VERIFYD_LUA\"},\n")
  endforeach()
  set(body "${body}" PARENT_SCOPE)
endfunction()

embed_scripts("" "" "${common_source}\n${key_limit_source}\n${idempotency_source}")
embed_scripts("outbox/" "outbox_" "${common_source}")
embed_scripts("idempotency/" "idempotency_" "${common_source}")

string(APPEND body "    };\n    return scripts;\n}\n\n}  // namespace verifyd\n")
file(WRITE ${OUTPUT} "${body}")
