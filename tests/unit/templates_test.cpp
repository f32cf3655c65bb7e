// Covers templates.hpp: the built-in bodies, lookup by locale, the templates file and
// rendering. Not for: which variables a message carries (the API's tests cover that).
#include "verifyd/templates.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/text.hpp"

using nlohmann::json;
using verifyd::Templates;
using verifyd_test::contains;
using verifyd_test::TempFile;

namespace {

const std::vector<std::string> kBuiltInLocales = {"en", "es", "fr", "de", "pt",
                                                  "it", "hi", "ar", "zh", "ja"};

json variables() {
    return {{"code", "004217"}, {"app_name", "Acme Login"}, {"ttl_minutes", 10}};
}

size_t occurrences(const std::string& text, const std::string& part) {
    size_t count = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

// The message of the runtime_error that parsing `text` throws, or "" when none is thrown.
std::string parse_error(const std::string& text) {
    try {
        Templates::parse(text);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("every built-in locale has the code, the app name and the minutes as placeholders") {
    const Templates templates;
    for (const std::string& locale : kBuiltInLocales) {
        const std::string& body = templates.body_for(locale);
        INFO(locale << ": " << body);
        CHECK(contains(body, "{{code}}"));
        CHECK(contains(body, "{{app_name}}"));
        CHECK(contains(body, "{{ttl_minutes}}"));
    }
}

TEST_CASE("every built-in locale renders with its placeholders filled and none left over") {
    const Templates templates;
    for (const std::string& locale : kBuiltInLocales) {
        const std::string text = templates.render(locale, variables());
        INFO(locale << ": " << text);
        CHECK(contains(text, "004217"));
        CHECK(contains(text, "Acme Login"));
        CHECK(contains(text, "10"));
        CHECK_FALSE(contains(text, "{{"));
        CHECK_FALSE(contains(text, "}}"));
    }
}

TEST_CASE("the English body is the documented sentence") {
    CHECK(Templates().render("en", variables()) ==
          "Your Acme Login verification code is 004217. It expires in 10 minutes.");
}

TEST_CASE("each built-in locale other than English has a body of its own") {
    const Templates templates;
    for (const std::string& locale : kBuiltInLocales) {
        if (locale == "en") continue;
        INFO(locale);
        CHECK(templates.body_for(locale) != templates.body_for("en"));
    }
}

TEST_CASE("a locale is found by its exact tag, then by its language, then English") {
    const Templates templates = Templates::parse(R"({"pt-BR": "Código {{code}}"})");
    CHECK(templates.body_for("pt-BR") == "Código {{code}}");
    CHECK(templates.body_for("pt-PT") == templates.body_for("pt"));
    CHECK(templates.body_for("pt-PT") != templates.body_for("pt-BR"));
    CHECK(templates.body_for("fr-CA") == templates.body_for("fr"));
    CHECK(templates.body_for("zh-Hant-TW") == templates.body_for("zh"));
    CHECK(templates.body_for("xx") == templates.body_for("en"));
    CHECK(templates.body_for("xx-YY") == templates.body_for("en"));
    CHECK(templates.body_for("") == templates.body_for("en"));
}

TEST_CASE("a single-letter subtag is dropped with what follows it, as RFC 4647 lookup does") {
    const Templates templates =
        Templates::parse(R"({"de-x": "X {{code}}", "de-AT": "AT {{code}}"})");
    CHECK(templates.body_for("de-x-foo") == templates.body_for("de"));
    CHECK(templates.body_for("de-AT-u-co-phonebk") == "AT {{code}}");
    CHECK(templates.body_for("de-AT-1996") == "AT {{code}}");
    CHECK(templates.body_for("de-x") == "X {{code}}");
}

TEST_CASE("the built-in Portuguese body is used for Brazilian Portuguese") {
    const Templates templates;
    CHECK(templates.body_for("pt-BR") == templates.body_for("pt"));
    CHECK(templates.body_for("pt-BR") != templates.body_for("en"));
}

TEST_CASE("locales are looked up without regard to case") {
    const Templates templates = Templates::parse(R"({"pt-BR": "Código {{code}}"})");
    CHECK(templates.body_for("DE") == templates.body_for("de"));
    CHECK(templates.body_for("De-aT") == templates.body_for("de"));
    CHECK(templates.body_for("pt-br") == "Código {{code}}");
    CHECK(templates.body_for("PT-BR") == "Código {{code}}");
}

TEST_CASE("a templates file overrides built-in bodies and adds locales, keeping the others") {
    const Templates built_in;
    const Templates templates = Templates::parse(
        R"({"en": "{{app_name}}: {{code}}", "sv": "Din kod är {{code}}", "EN-gb": "Code {{code}}"})");
    CHECK(templates.render("en", variables()) == "Acme Login: 004217");
    CHECK(templates.render("sv", variables()) == "Din kod är 004217");
    CHECK(templates.render("en-GB", variables()) == "Code 004217");
    CHECK(templates.body_for("fr") == built_in.body_for("fr"));
    CHECK(templates.body_for("xx") == "{{app_name}}: {{code}}");
}

TEST_CASE("an empty templates file keeps every built-in body") {
    const Templates built_in;
    const Templates templates = Templates::parse("{}");
    for (const std::string& locale : kBuiltInLocales)
        CHECK(templates.body_for(locale) == built_in.body_for(locale));
}

TEST_CASE("a templates file that is not a JSON object of locale to body is refused") {
    CHECK_FALSE(parse_error("").empty());
    CHECK_FALSE(parse_error("{\"en\": ").empty());
    CHECK_FALSE(parse_error(R"(["en", "{{code}}"])").empty());
    CHECK_FALSE(parse_error(R"("{{code}}")").empty());
    CHECK_FALSE(parse_error("null").empty());
}

TEST_CASE("a locale that is not shaped like a BCP 47 tag is refused and named") {
    for (const std::string locale : {"english", "e", "en_US", "en-", "en--US", "-en", "e1",
                                     "en-US-", "en-abcdefghi", "", "en US", "ελ"}) {
        const std::string problem = parse_error(json({{locale, "Your code is {{code}}"}}).dump());
        INFO("locale \"" << locale << "\": " << problem);
        CHECK_FALSE(problem.empty());
        if (locale == "ελ")
            CHECK(contains(problem, "\\u03b5\\u03bb"));
        else
            CHECK(contains(problem, "\"" + locale + "\""));
    }
}

TEST_CASE("tags of every allowed shape are accepted") {
    for (const std::string locale :
         {"en", "fil", "EN", "zh-Hant-TW", "es-419", "en-abcdefgh", "sr-Latn-RS", "de-1996"}) {
        INFO(locale);
        CHECK(parse_error(json({{locale, "Your code is {{code}}"}}).dump()).empty());
    }
}

TEST_CASE(
    "a body that is empty, not a string or without {{code}} is refused and its locale named") {
    const std::string cases[] = {
        R"({"sv": ""})",
        R"({"sv": 42})",
        R"({"sv": null})",
        R"({"sv": ["{{code}}"]})",
        R"({"sv": "Din kod är {{app_name}}"})",
        R"({"sv": "Din kod är {{ code }}"})",
    };
    for (const std::string& text : cases) {
        const std::string problem = parse_error(text);
        INFO(text << " → " << problem);
        CHECK(contains(problem, "\"sv\""));
    }
}

TEST_CASE("one locale given twice in different cases is refused") {
    const std::string problem =
        parse_error(R"({"pt-BR": "Código {{code}}", "pt-br": "Codigo {{code}}"})");
    INFO(problem);
    CHECK(contains(problem, "pt-BR"));
    CHECK(contains(problem, "pt-br"));
}

TEST_CASE("a templates file is read from its path") {
    const TempFile file(R"({"sv": "Din kod är {{code}}"})");
    CHECK(Templates::load_file(file.path()).render("sv", variables()) == "Din kod är 004217");
}

TEST_CASE("an unreadable or malformed templates file is refused with its path") {
    const std::string missing = "/nonexistent/verifyd/templates.json";
    try {
        Templates::load_file(missing);
        FAIL("a missing file was accepted");
    } catch (const std::runtime_error& e) {
        CHECK(contains(e.what(), missing));
    }
    const TempFile file(R"({"sv": "no code here"})");
    try {
        Templates::load_file(file.path());
        FAIL("a body without {{code}} was accepted");
    } catch (const std::runtime_error& e) {
        CHECK(contains(e.what(), file.path()));
        CHECK(contains(e.what(), "\"sv\""));
    }
}

TEST_CASE("a variable's value is not expanded again, so request input cannot reveal the code") {
    json vars = variables();
    vars["app_name"] = "{{code}}";
    const std::string text = Templates().render("en", vars);
    INFO(text);
    CHECK(text == "Your {{code}} verification code is 004217. It expires in 10 minutes.");
    CHECK(occurrences(text, "004217") == 1);
}

TEST_CASE("numbers are rendered as JSON writes them and strings as they are") {
    const Templates templates = Templates::parse(R"({"en": "{{code}} {{a}} {{b}} {{c}} {{d}}"})");
    const json vars = {{"code", "0042"}, {"a", 10}, {"b", -3}, {"c", 2.5}, {"d", "x\"y"}};
    CHECK(templates.render("en", vars) == "0042 10 -3 2.5 x\"y");
}

TEST_CASE("an unknown placeholder, or one whose value is not a string or a number, is left empty") {
    const Templates templates =
        Templates::parse(R"({"en": "[{{code}}][{{missing}}][{{list}}][{{nothing}}]"})");
    const json vars = {{"code", "1234"}, {"list", {1, 2}}, {"nothing", nullptr}};
    CHECK(templates.render("en", vars) == "[1234][][][]");
    CHECK(templates.render("en", json::array()) == "[][][][]");
}

TEST_CASE("stray braces stay text and the innermost pair is the placeholder") {
    const Templates templates =
        Templates::parse(R"({"en": "{{{code}}} {{ {{app_name}} }} {{ttl_minutes"})");
    CHECK(templates.render("en", variables()) == "{004217} {{ Acme Login }} {{ttl_minutes");
}
