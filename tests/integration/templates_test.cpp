// Message bodies per locale (§7): built-in bodies for en, es, fr, de, pt,
// it, hi, ar, zh and ja; an unknown tag falls back to its language, then to English;
// VERIFYD_TEMPLATES_FILE overrides or adds bodies. Seen in the webhook event's `body` for
// live sends and in GET /messages/{id} for sandbox sends.
// Not for: the webhook's signature or retries (webhook_test.cpp).
#include "verifyd/templates.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "support/api_checks.hpp"
#include "support/delivery_support.hpp"
#include "support/fake_provider.hpp"
#include "support/verifyd_instance.hpp"

using namespace verifyd_test;
using nlohmann::json;
using std::chrono::seconds;

namespace {

const std::string kEventsSecret = "whsec_templates_0123456789";

// The webhook event of a live send in `locale` (waits for it, bounded).
json delivered_event(VerifydInstance& v, const FakeProvider& fake, int number,
                     const std::string& locale) {
    json sent = v.send_ok(v.key(kLiveA), us_number(number), {{"locale", locale}});
    const std::string message_id = sent["message_id"];
    require_done(fake.wait_for_executions(message_id, 1, seconds(5)), v,
                 "the message to be delivered");
    const auto requests = fake.requests_with_key(message_id);
    REQUIRE_FALSE(requests.empty());
    const json event = requests.back().json;
    INFO("event: " << event.dump());
    REQUIRE(json_at(event, "/body").is_string());
    REQUIRE(json_at(event, "/template/variables").is_object());
    return event;
}

// `text` with every occurrence of `part` replaced by `by`.
std::string replaced(std::string text, const std::string& part, const std::string& by) {
    for (size_t found = text.find(part); found != std::string::npos;
         found = text.find(part, found + by.size())) {
        text.replace(found, part.size(), by);
    }
    return text;
}

}  // namespace

TEST_CASE("a live send is delivered in its locale, its language's, or else English") {
    FakeProvider fake;
    VerifydInstance v(webhook_provider(fake, kEventsSecret));
    const verifyd::Templates built_in;
    struct Case {
        std::string locale;
        std::string rendered_as;
    };
    const std::vector<Case> cases = {{"es", "es"}, {"pt-BR", "pt"}, {"xx", "en"}, {"en", "en"}};
    int number = 32001;
    for (const auto& c : cases) {
        INFO("locale " << c.locale);
        json event = delivered_event(v, fake, number++, c.locale);
        const json& variables = event["template"]["variables"];
        const std::string body = event["body"];
        CHECK(body == built_in.render(c.rendered_as, variables));
        CHECK(body.find(variables.value("code", "?")) != std::string::npos);
        if (c.rendered_as != "en") {
            CHECK(body != built_in.render("en", variables));
        }
    }
}

TEST_CASE("VERIFYD_TEMPLATES_FILE overrides English and adds a regional body") {
    TempDir dir("verifyd-templates");
    const std::string path = dir.file("templates.json");
    write_file(path, json{{"en", "Your {{app_name}} code is {{code}}, valid {{ttl_minutes}} min."},
                          {"pt-BR", "Seu código {{app_name}}: {{code}}"}}
                         .dump());
    FakeProvider fake;
    VerifydInstance v(merged(webhook_provider(fake, kEventsSecret),
                             {{"VERIFYD_TEMPLATES_FILE", path}, {"VERIFYD_APP_NAME", "Acme"}}));
    const verifyd::Templates built_in;

    json english = delivered_event(v, fake, 32101, "en");
    const std::string code = english["template"]["variables"].value("code", "");
    CHECK(english["body"] == "Your Acme code is " + code + ", valid 10 min.");

    json unknown = delivered_event(v, fake, 32102, "xx");
    const std::string unknown_code = unknown["template"]["variables"].value("code", "");
    CHECK(unknown["body"] == "Your Acme code is " + unknown_code + ", valid 10 min.");

    json brazilian = delivered_event(v, fake, 32103, "pt-BR");
    CHECK(brazilian["body"] ==
          "Seu código Acme: " + brazilian["template"]["variables"].value("code", ""));

    // Locales the file does not name keep their built-in bodies.
    json spanish = delivered_event(v, fake, 32104, "es");
    CHECK(spanish["body"] == built_in.render("es", spanish["template"]["variables"]));
}

TEST_CASE("sandbox bodies are rendered in the send's locale, one built-in body per language") {
    VerifydInstance v;
    const std::vector<std::string> locales = {"en", "es", "fr", "de", "pt",
                                              "it", "hi", "ar", "zh", "ja"};
    std::set<std::string> bodies;
    std::string english;
    int number = 32201;
    for (const auto& locale : locales) {
        INFO("locale " << locale);
        json sent = v.send_ok(v.key(kTestA), us_number(number++), {{"locale", locale}});
        json message = read_message(v, v.key(kTestA), sent["message_id"]);
        REQUIRE(json_at(message, "/body").is_string());
        const std::string code = v.sandbox_code(v.key(kTestA), sent["id"]);
        const std::string body = message["body"];
        CHECK(body.find(code) != std::string::npos);
        const std::string shape = replaced(body, code, "{{code}}");
        bodies.insert(shape);
        if (locale == "en") {
            english = shape;
        }
    }
    CHECK(bodies.size() == locales.size());

    json unknown = v.send_ok(v.key(kTestA), us_number(number++), {{"locale", "xx-YY"}});
    json message = read_message(v, v.key(kTestA), unknown["message_id"]);
    const std::string code = v.sandbox_code(v.key(kTestA), unknown["id"]);
    CHECK(replaced(message.value("body", ""), code, "{{code}}") == english);
}
