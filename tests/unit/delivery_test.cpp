// Covers delivery.hpp's render_body: the message text of a locale with its variables filled in.
#include "verifyd/delivery.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

using nlohmann::json;

namespace {

json variables() {
    json vars = json::object();
    vars["code"] = "004217";
    vars["app_name"] = "Acme Login";
    vars["ttl_minutes"] = 10;
    return vars;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the English body holds the code, the app name and the minutes it is valid") {
    const std::string body = verifyd::render_body("en", variables());
    INFO(body);
    CHECK(contains(body, "004217"));
    CHECK(contains(body, "Acme Login"));
    CHECK(contains(body, "10"));
    CHECK_FALSE(contains(body, "10.0"));
    CHECK_FALSE(contains(body, "{{"));
    CHECK_FALSE(contains(body, "}}"));
    CHECK_FALSE(contains(body, "\"004217\""));
}

TEST_CASE("the body follows the variables it is given") {
    json other = variables();
    other["code"] = "987654";
    other["app_name"] = "Globex";
    other["ttl_minutes"] = 37;
    const std::string body = verifyd::render_body("en", other);
    INFO(body);
    CHECK(contains(body, "987654"));
    CHECK(contains(body, "Globex"));
    CHECK(contains(body, "37"));
    CHECK_FALSE(contains(body, "004217"));
    CHECK_FALSE(contains(body, "Acme Login"));
}

TEST_CASE("an unknown locale falls back to English") {
    const std::string english = verifyd::render_body("en", variables());
    CHECK(verifyd::render_body("xx", variables()) == english);
    CHECK(verifyd::render_body("zz-ZZ", variables()) == english);
    CHECK(verifyd::render_body("", variables()) == english);
}
