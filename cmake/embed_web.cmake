# Writes OUTPUT, a C++ file that defines verifyd::sandbox_asset(): the sandbox inbox
# page's files of web/sandbox/ (index.html, app.css, app.js, icon.svg), so that the page ships in
# the binary and loads nothing from anywhere else.
cmake_minimum_required(VERSION 3.18)
set(body "// Generated from web/sandbox/ by cmake/embed_web.cmake. Do not edit.\n")
string(APPEND body "#include \"verifyd/sandbox_page.hpp\"\n\nnamespace verifyd {\n\n")
string(APPEND body "std::optional<WebAsset> sandbox_asset(std::string_view name) {\n")
foreach(entry "index.html|text/html\; charset=utf-8" "app.css|text/css\; charset=utf-8"
              "app.js|text/javascript\; charset=utf-8" "icon.svg|image/svg+xml")
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 file)
  list(GET parts 1 type)
  file(READ ${WEB_DIR}/${file} source)
  string(FIND "${source}" ")VERIFYD_WEB\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "web/sandbox/${file} holds the raw string's delimiter")
  endif()
  string(APPEND body "    if (name == \"${file}\")\n"
         "        return WebAsset{\"${type}\", R\"VERIFYD_WEB(${source})VERIFYD_WEB\"};\n")
endforeach()
string(APPEND body "    return std::nullopt;\n}\n\n}  // namespace verifyd\n")
file(WRITE ${OUTPUT} "${body}")
