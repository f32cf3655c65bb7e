// Delivery of a code to a person (§7): the message a provider receives, the body it
// renders to, and the providers. Sandbox messages are rendered but never delivered.
// Not for: deciding whether to deliver (the API does) or durable queueing.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "verifyd/config.hpp"

namespace verifyd {

struct OutgoingMessage {
    std::string message_id;
    std::string verification_id;
    std::string to;
    std::string channel;
    std::string locale;
    std::string template_name;
    nlohmann::json variables;  // holds "code", "app_name", "ttl_minutes" and the request's
};

// The message text for a locale, with {{name}} replaced by variables[name].
std::string render_body(const std::string& locale, const nlohmann::json& variables);

struct DeliveryResult {
    bool ok = false;
    std::string status;  // the message's delivery status after this attempt
    std::string error;
};

class Provider {
  public:
    virtual ~Provider() = default;
    virtual const char* name() const = 0;
    virtual DeliveryResult deliver(const OutgoingMessage& message) = 0;
};

// Nothing when the kind is None; live sends are then refused with 5001.
std::unique_ptr<Provider> make_provider(ProviderKind kind);

}  // namespace verifyd
