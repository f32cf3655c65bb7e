// make_provider: the provider VERIFYD_PROVIDER names. Not for: how any provider
// delivers (log.cpp, sent.cpp, webhook.cpp).
#include "service/delivery/providers.hpp"

namespace verifyd {

std::unique_ptr<Provider> make_provider(const Config& config) {
    switch (config.provider) {
        case ProviderKind::Log:
            return make_log_provider();
        case ProviderKind::Sent:
            return make_sent_provider(config);
        case ProviderKind::Webhook:
            return make_webhook_provider(config);
        case ProviderKind::None:
            break;
    }
    return nullptr;
}

}  // namespace verifyd
