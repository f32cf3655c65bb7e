// The providers that make_provider chooses between, one per file beside this one. Not
// for: callers outside service/delivery/, which ask make_provider (delivery.hpp).
#pragma once

#include <memory>

#include "verifyd/delivery.hpp"

namespace verifyd {

std::unique_ptr<Provider> make_log_provider();
std::unique_ptr<Provider> make_sent_provider(const SentSettings& settings, int timeout_ms);
std::unique_ptr<Provider> make_webhook_provider(const WebhookSettings& settings, int timeout_ms);

}  // namespace verifyd
