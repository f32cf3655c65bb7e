// Message bodies per locale: built in for en, es, fr, de, pt, it, hi, ar, zh and ja,
// overridden or extended by VERIFYD_TEMPLATES_FILE, with {{name}} placeholders filled
// from a message's variables. Not for: deciding what variables a message has.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace verifyd {

// The template name and locale of a message whose request named none.
constexpr const char* kDefaultTemplateName = "verify";
constexpr const char* kDefaultLocale = "en";

// A code's lifetime as the message says it: whole minutes, rounded up.
int ttl_minutes(int ttl_seconds);

// The variables a message is rendered with, but its code: app_name and ttl_minutes, then
// the request's own (a JSON object as text, empty for none), which may replace them.
nlohmann::json message_variables(const std::string& app_name, int ttl_seconds,
                                 const std::string& request_variables);

class Templates {
  public:
    // The built-in bodies.
    Templates();

    // The built-in bodies, then the file's: a JSON object of locale → body, e.g.
    // {"en": "…{{code}}…", "pt-BR": "…"}. Throws std::runtime_error saying what is wrong.
    static Templates load_file(const std::string& path);
    static Templates parse(const std::string& json_text);

    // The body for a locale: the exact tag (case-insensitive), then its language
    // ("pt-BR" → "pt"), then "en".
    const std::string& body_for(const std::string& locale) const;

    // body_for(locale) with every {{name}} replaced by variables[name] (strings as they
    // are, numbers as JSON writes them); an unknown name is left empty.
    std::string render(const std::string& locale, const nlohmann::json& variables) const;

  private:
    std::map<std::string, std::string> bodies_;  // lowercase locale → body
};

}  // namespace verifyd
