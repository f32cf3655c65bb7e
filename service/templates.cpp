// Message bodies per locale and their rendering: the built-in bodies, the operator's
// VERIFYD_TEMPLATES_FILE on top of them, lookup by BCP 47 tag, and {{name}} filling.
// Not for: choosing a message's variables or locale (the API does) or delivering it.
#include "verifyd/templates.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

// Each says what the English one says, in the words an OTP message uses in that language.
const std::pair<const char*, const char*> kBuiltIn[] = {
    {"en",
     "Your {{app_name}} verification code is {{code}}. It expires in {{ttl_minutes}} minutes."},
    {"es",
     "Tu código de verificación de {{app_name}} es {{code}}. Caduca en {{ttl_minutes}} "
     "minutos."},
    {"fr",
     "Votre code de vérification {{app_name}} est {{code}}. Il expire dans {{ttl_minutes}} "
     "minutes."},
    {"de",
     "Ihr {{app_name}}-Bestätigungscode lautet {{code}}. Er läuft in {{ttl_minutes}} Minuten "
     "ab."},
    {"pt",
     "Seu código de verificação {{app_name}} é {{code}}. Ele expira em {{ttl_minutes}} "
     "minutos."},
    {"it", "Il tuo codice di verifica {{app_name}} è {{code}}. Scade tra {{ttl_minutes}} minuti."},
    {"hi",
     "आपका {{app_name}} सत्यापन कोड {{code}} है। यह {{ttl_minutes}} मिनट में समाप्त हो "
     "जाएगा।"},
    {"ar",
     "رمز التحقق الخاص بك في {{app_name}} هو {{code}}. تنتهي صلاحيته خلال {{ttl_minutes}} "
     "دقيقة."},
    {"zh", "您的{{app_name}}验证码是{{code}}，{{ttl_minutes}}分钟内有效。"},
    {"ja", "{{app_name}}の認証コードは{{code}}です。有効期限は{{ttl_minutes}}分です。"},
};

bool ascii_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool ascii_alnum(char c) {
    return ascii_alpha(c) || (c >= '0' && c <= '9');
}

// ^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$: the shape of a BCP 47 tag, not its registry.
bool bcp47_shaped(const std::string& tag) {
    size_t i = 0;
    while (i < tag.size() && ascii_alpha(tag[i])) ++i;
    if (i < 2 || i > 3) return false;
    while (i < tag.size()) {
        if (tag[i] != '-') return false;
        const size_t start = ++i;
        while (i < tag.size() && ascii_alnum(tag[i])) ++i;
        if (i - start < 1 || i - start > 8) return false;
    }
    return true;
}

// A tag one step less specific, as RFC 4647 lookup truncates it: "zh-hant-tw" →
// "zh-hant" → "zh"; a single-letter subtag left at the end goes too ("en-x-foo" → "en").
std::string truncated(const std::string& tag) {
    size_t dash = tag.rfind('-');
    if (dash == std::string::npos) return "";
    std::string shorter = tag.substr(0, dash);
    dash = shorter.rfind('-');
    if (dash != std::string::npos && shorter.size() - dash == 2) shorter.resize(dash);
    return shorter;
}

std::string variable_text(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number() || value.is_boolean()) return value.dump();
    return "";
}

// A locale quoted as JSON in ASCII, so that whatever bytes a file holds stay readable.
std::string quoted_locale(const std::string& locale) {
    return json(locale).dump(-1, ' ', true, json::error_handler_t::replace);
}

}  // namespace

Templates::Templates() {
    for (const auto& [locale, body] : kBuiltIn) bodies_[locale] = body;
}

Templates Templates::load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw std::runtime_error(path + ": cannot be read");
    try {
        return parse(text.str());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
}

Templates Templates::parse(const std::string& json_text) {
    const json file = json::parse(json_text, nullptr, false);
    if (file.is_discarded()) throw std::runtime_error("templates: not valid JSON");
    if (!file.is_object())
        throw std::runtime_error("templates: expected a JSON object of locale to body");

    Templates templates;
    // Two spellings of one tag ("pt-BR" and "pt-br") would make the result depend on order.
    std::map<std::string, std::string> seen;
    for (const auto& [locale, body] : file.items()) {
        if (!bcp47_shaped(locale))
            throw std::runtime_error("templates: locale " + quoted_locale(locale) +
                                     " is not a BCP 47 language tag");
        if (!body.is_string() || body.get<std::string>().empty())
            throw std::runtime_error("templates: the body of " + quoted_locale(locale) +
                                     " must be a non-empty string");
        if (body.get<std::string>().find("{{code}}") == std::string::npos)
            throw std::runtime_error("templates: the body of " + quoted_locale(locale) +
                                     " must contain {{code}}");
        const std::string key = lowercase(locale);
        const auto [previous, fresh] = seen.emplace(key, locale);
        if (!fresh)
            throw std::runtime_error("templates: locale " + quoted_locale(locale) +
                                     " is given twice (" + quoted_locale(previous->second) + ")");
        templates.bodies_[key] = body.get<std::string>();
    }
    return templates;
}

const std::string& Templates::body_for(const std::string& locale) const {
    for (std::string tag = lowercase(locale); !tag.empty(); tag = truncated(tag)) {
        const auto found = bodies_.find(tag);
        if (found != bodies_.end()) return found->second;
    }
    return bodies_.at(kDefaultLocale);
}

std::string Templates::render(const std::string& locale, const nlohmann::json& variables) const {
    const std::string& body = body_for(locale);
    std::string out;
    size_t pos = 0;
    // Only the body is scanned for placeholders, never a value put into it: variables
    // come from requests, and one holding "{{code}}" must not reveal the code.
    while (true) {
        const size_t open = body.find("{{", pos);
        if (open == std::string::npos) break;
        const size_t close = body.find("}}", open + 2);
        if (close == std::string::npos) break;
        // "{{ {{code}}": the placeholder is the innermost pair, the rest is text.
        const size_t inner = body.find("{{", open + 1);
        if (inner < close) {
            out.append(body, pos, inner - pos);
            pos = inner;
            continue;
        }
        out.append(body, pos, open - pos);
        const std::string name = body.substr(open + 2, close - open - 2);
        if (variables.is_object()) {
            const auto value = variables.find(name);
            if (value != variables.end()) out += variable_text(*value);
        }
        pos = close + 2;
    }
    out.append(body, pos, std::string::npos);
    return out;
}

int ttl_minutes(int ttl_seconds) {
    return (ttl_seconds + 59) / 60;
}

nlohmann::json message_variables(const std::string& app_name, int ttl_seconds,
                                 const std::string& request_variables) {
    nlohmann::json variables = {{"app_name", app_name}, {"ttl_minutes", ttl_minutes(ttl_seconds)}};
    if (!request_variables.empty()) {
        nlohmann::json own = nlohmann::json::parse(request_variables, nullptr, false);
        if (own.is_object()) variables.update(own);
    }
    return variables;
}

}  // namespace verifyd
