# Writes OUTPUT, a C++ file that defines verifyd::openapi_document(): docs/openapi.json,
# the OpenAPI 3.1 description of the API, so that GET /openapi.json serves the very
# document the tests validate answers against. Not for: checking the document (the
# "openapi:" tests do).
cmake_minimum_required(VERSION 3.18)
file(READ ${DOCUMENT} source)
string(FIND "${source}" ")VERIFYD_OPENAPI\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${DOCUMENT} holds the raw string's delimiter")
endif()
set(body "// Generated from docs/openapi.json by cmake/embed_openapi.cmake. Do not edit.\n")
string(APPEND body "#include \"verifyd/openapi_document.hpp\"\n\nnamespace verifyd {\n\n")
string(APPEND body "std::string_view openapi_document() {\n")
string(APPEND body "    return R\"VERIFYD_OPENAPI(${source})VERIFYD_OPENAPI\";\n}\n\n")
string(APPEND body "}  // namespace verifyd\n")
file(WRITE ${OUTPUT} "${body}")
