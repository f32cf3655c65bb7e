# Writes OUTPUT, a C++ file that defines verifyd::lua_library(): every script of lua/ as
# one Redis function library, loaded once per connection (FUNCTION LOAD) and called by
# FCALL. The library begins with lua/lib/ (common, record, sandbox, events, guard,
# delivery, key_limit, idempotency), whose
# definitions run once, when Redis loads it; then each script becomes a function:
# lua/*.lua (API scripts, named by file) start with begin_api_call (the clock and the
# API key's limit, lib/key_limit.lua); lua/outbox/, lua/delivery/, lua/events/ and
# lua/idempotency/, lua/guard/, lua/client/, lua/services/, lua/inbox/ and lua/keys/ (named
# <folder>_<file>) with
# begin_call
# (the clock).
# The library's name carries a hash of its sources, so that two releases sharing a Redis
# (a rolling update) each call their own functions.
cmake_minimum_required(VERSION 3.18)
set(library_code "")
foreach(lib common record sandbox events guard delivery key_limit idempotency)
  file(READ ${LUA_DIR}/lib/${lib}.lua source)
  string(APPEND library_code "${source}\n")
endforeach()

set(functions "")
function(add_functions folder name_prefix prologue)
  file(GLOB paths ${LUA_DIR}/${folder}*.lua)
  list(SORT paths)
  foreach(path ${paths})
    get_filename_component(name ${path} NAME_WE)
    file(READ ${path} source)
    string(APPEND functions
           "redis.register_function('@LIBRARY@_${name_prefix}${name}', function(KEYS, ARGV)\n"
           "${prologue}\n${source}\nend)\n")
  endforeach()
  set(functions "${functions}" PARENT_SCOPE)
endfunction()

add_functions("" "" "local refused = begin_api_call(KEYS, ARGV)\nif refused then return refused end")
add_functions("outbox/" "outbox_" "begin_call()")
add_functions("delivery/" "delivery_" "begin_call()")
add_functions("events/" "events_" "begin_call()")
add_functions("idempotency/" "idempotency_" "begin_call()")
add_functions("guard/" "guard_" "begin_call()")
add_functions("client/" "client_" "begin_call()")
add_functions("services/" "services_" "begin_call()")
add_functions("inbox/" "inbox_" "begin_call()")
add_functions("keys/" "keys_" "begin_call()")

string(SHA1 digest "${library_code}${functions}")
string(SUBSTRING "${digest}" 0 12 version)
set(library_name "verifyd_${version}")
string(REPLACE "@LIBRARY@" "${library_name}" functions "${functions}")

set(body "// Generated from lua/ by cmake/embed_lua.cmake. Do not edit.\n")
string(APPEND body "#include \"verifyd/lua_scripts.hpp\"\n\nnamespace verifyd {\n\n")
string(APPEND body "const LuaLibrary& lua_library() {\n")
string(APPEND body "    static const LuaLibrary library = {\"${library_name}\", R\"VERIFYD_LUA(")
string(APPEND body "#!lua name=${library_name}\n${library_code}\n${functions})VERIFYD_LUA\"};\n")
string(APPEND body "    return library;\n}\n\n}  // namespace verifyd\n")
file(WRITE ${OUTPUT} "${body}")
