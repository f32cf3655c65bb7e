// The `sent` provider: one message is one POST /v3/messages to the Sent platform, with
// the template's name and the message's variables, under the message's Idempotency-Key.
// Not for: reading Sent's answer, which every HTTP provider shares (answers.cpp).
#include "service/delivery/answers.hpp"
#include "service/delivery/providers.hpp"

namespace verifyd {
namespace {

using nlohmann::ordered_json;

class SentProvider : public Provider {
  public:
    SentProvider(const SentSettings& settings, int timeout_ms)
        : http_(timeout_ms), settings_(settings) {
        std::string base = settings_.base_url;
        if (!base.empty() && base.back() == '/') base.pop_back();
        url_ = base + "/v3/messages";
    }
    const char* name() const override { return "sent"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        ordered_json request = {
            {"to", ordered_json::array({message.to})},
            {"channel", ordered_json::array({message.channel})},
            {"template",
             {{"name", settings_.template_name},
              {"parameters", message.variables.is_object() ? ordered_json(message.variables)
                                                           : ordered_json::object()}}}};
        if (!settings_.sender_profile_id.empty())
            request["sender_profile_id"] = settings_.sender_profile_id;
        const HttpAnswer answer = http_.post(
            url_,
            {"x-api-key: " + settings_.api_key, "Idempotency-Key: " + message.idempotency_key,
             "Content-Type: application/json", "Accept: application/json"},
            json_body(request));
        return result_of(answer, message);
    }

  private:
    HttpClient http_;
    SentSettings settings_;
    std::string url_;
};

}  // namespace

std::unique_ptr<Provider> make_sent_provider(const SentSettings& settings, int timeout_ms) {
    return std::make_unique<SentProvider>(settings, timeout_ms);
}

}  // namespace verifyd
