// make_provider: the provider VERIFYD_PROVIDER names. Not for: how any provider
// delivers (log.cpp, sent.cpp, webhook.cpp).
#include "service/delivery/providers.hpp"

namespace verifyd {

std::unique_ptr<Provider> make_provider(const ProviderSettings& settings) {
    switch (settings.kind) {
        case ProviderKind::Log:
            return make_log_provider();
        case ProviderKind::Sent:
            return make_sent_provider(settings.sent, settings.timeout_ms);
        case ProviderKind::Webhook:
            return make_webhook_provider(settings.webhook, settings.timeout_ms);
        case ProviderKind::None:
            break;
    }
    return nullptr;
}

}  // namespace verifyd
