// The `log` provider: development only, it writes each message, live code included, to
// the log and calls it sent. Not for: any deployment that sends real codes.
#include "verifyd/log.hpp"

#include <mutex>

#include "service/delivery/providers.hpp"

namespace verifyd {
namespace {

class LogProvider : public Provider {
  public:
    LogProvider() {
        static std::once_flag warned;
        std::call_once(warned, [] {
            log_event(LogLevel::Warn,
                      "VERIFYD_PROVIDER=log writes live codes to this log; use it for local "
                      "development only");
        });
    }
    const char* name() const override { return "log"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        const nlohmann::json line = {{"message_id", message.message_id},
                                     {"verification_id", message.verification_id},
                                     {"to", message.to},
                                     {"channel", message.channel},
                                     {"locale", message.locale},
                                     {"template", message.template_name},
                                     {"variables", message.variables},
                                     {"body", message.body}};
        log_event(LogLevel::Warn, "log provider delivery (development only)", line);
        DeliveryResult result;
        result.outcome = DeliveryOutcome::Sent;
        return result;
    }
};

}  // namespace

std::unique_ptr<Provider> make_log_provider() {
    return std::make_unique<LogProvider>();
}

}  // namespace verifyd
