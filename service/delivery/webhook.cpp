// The `webhook` provider: one message is one signed event POSTed to the operator's URL
// (VERIFYD_WEBHOOK_URL), under the message's Idempotency-Key. Not for: the signature's
// format or its check (signing.cpp), or reading the answer (answers.cpp).
#include <ctime>

#include "service/delivery/answers.hpp"
#include "service/delivery/providers.hpp"

namespace verifyd {
namespace {

using nlohmann::ordered_json;

class WebhookProvider : public Provider {
  public:
    WebhookProvider(const WebhookSettings& settings, int timeout_ms)
        : http_(timeout_ms), settings_(settings) {}
    const char* name() const override { return "webhook"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        const ordered_json event = {
            {"type", "verification.message"},
            {"message_id", message.message_id},
            {"verification_id", message.verification_id},
            {"to", message.to},
            {"channel", message.channel},
            {"locale", message.locale},
            {"template",
             {{"name", message.template_name}, {"variables", ordered_json(message.variables)}}},
            {"body", message.body},
            {"attempt", message.attempt}};
        const std::string body = json_body(event);
        const std::string signature =
            webhook_signature(settings_.secret, static_cast<int64_t>(std::time(nullptr)), body);
        const HttpAnswer answer = http_.post(
            settings_.url,
            {"Content-Type: application/json", "Idempotency-Key: " + message.idempotency_key,
             "X-Verifyd-Signature: " + signature},
            body);
        return result_of(answer, message);
    }

  private:
    HttpClient http_;
    WebhookSettings settings_;
};

}  // namespace

std::unique_ptr<Provider> make_webhook_provider(const WebhookSettings& settings, int timeout_ms) {
    return std::make_unique<WebhookProvider>(settings, timeout_ms);
}

}  // namespace verifyd
