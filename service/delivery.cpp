// Message bodies and the providers that deliver them. The `log` provider writes the
// message, code included, to the log: it exists for local development only.
#include "verifyd/delivery.hpp"

#include <cstdio>
#include <mutex>

namespace verifyd {
namespace {

using nlohmann::json;

const char* kDefaultBody =
    "Your {{app_name}} verification code is {{code}}. It expires in {{ttl_minutes}} minutes.";

std::string variable_text(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

class LogProvider : public Provider {
  public:
    LogProvider() {
        std::fprintf(stderr,
                     "verifyd: WARNING: VERIFYD_PROVIDER=log writes live codes to this log; "
                     "use it for local development only\n");
    }
    const char* name() const override { return "log"; }
    DeliveryResult deliver(const OutgoingMessage& message) override {
        json line = {{"level", "warn"},
                     {"msg", "log provider delivery (development only)"},
                     {"message_id", message.message_id},
                     {"verification_id", message.verification_id},
                     {"to", message.to},
                     {"channel", message.channel},
                     {"locale", message.locale},
                     {"template", message.template_name},
                     {"variables", message.variables},
                     {"body", render_body(message.locale, message.variables)}};
        std::string text = line.dump() + "\n";
        static std::mutex write_mutex;
        std::lock_guard<std::mutex> lock(write_mutex);
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
        return {true, "sent", ""};
    }
};

}  // namespace

std::string render_body(const std::string& locale, const json& variables) {
    (void)locale;
    std::string body = kDefaultBody;
    std::string out;
    size_t pos = 0;
    while (true) {
        size_t open = body.find("{{", pos);
        size_t close = open == std::string::npos ? open : body.find("}}", open);
        if (close == std::string::npos) break;
        out += body.substr(pos, open - pos);
        std::string name = body.substr(open + 2, close - open - 2);
        if (variables.is_object() && variables.contains(name))
            out += variable_text(variables[name]);
        pos = close + 2;
    }
    out += body.substr(pos);
    return out;
}

std::unique_ptr<Provider> make_provider(ProviderKind kind) {
    if (kind == ProviderKind::Log) return std::make_unique<LogProvider>();
    return nullptr;
}

}  // namespace verifyd
