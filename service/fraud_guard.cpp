// The fraud guard's C++ side (fraud_guard.hpp): checking and naming what a send's guard
// and client limits count, and reporting the pauses the scripts start and end.
#include "verifyd/fraud_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "verifyd/keys.hpp"
#include "verifyd/log.hpp"
#include "verifyd/metrics.hpp"
#include "verifyd/redis_keys.hpp"

namespace verifyd {
namespace {

// Four dotted decimal parts of 0–255 without leading zeros: inet_pton would take "01".
bool is_ipv4(const std::string& text) {
    int parts = 0;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('.', start);
        if (end == std::string::npos) end = text.size();
        const std::string part = text.substr(start, end - start);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
        for (char c : part)
            if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        if (std::stoi(part) > 255) return false;
        ++parts;
        start = end + 1;
    }
    return parts == 4;
}

}  // namespace

std::string number_prefix(const std::string& e164) {
    return e164.size() > 4 ? e164.substr(0, e164.size() - 4) : e164;
}

std::optional<std::string> client_network(const std::string& address) {
    if (address.empty() || address.size() > 64) return std::nullopt;
    if (address.find(':') == std::string::npos) {
        if (!is_ipv4(address)) return std::nullopt;
        return "4:" + address;
    }
    unsigned char bytes[16];
    if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) return std::nullopt;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(mapped, mapped + 12, bytes)) {
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, bytes + 12, text, sizeof text);
        return std::string("4:") + text;
    }
    return "6:" + to_hex(std::string_view(reinterpret_cast<const char*>(bytes), 8));
}

bool is_client_id(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != ':' &&
            c != '@' && c != '-')
            return false;
    return true;
}

ApiError paused_refusal(const std::string& target) {
    const bool prefix = !target.empty() && target[0] == '+';
    return make_field_error(ErrorCode::DestinationPaused, "to",
                            (prefix ? "sends to numbers starting " : "sends to the country ") +
                                target + " are paused for suspected SMS pumping");
}

ApiError client_refusal(const std::string& field, int retry_after) {
    return with_retry_after(make_field_error(ErrorCode::ClientRateLimit, field,
                                             "too many sends for this " + field + "; retry after " +
                                                 std::to_string(retry_after) + " seconds"),
                            retry_after);
}

std::string pack_guard_settings(const FraudSettings& s) {
    char conversion[32];
    std::snprintf(conversion, sizeof conversion, "%.6g", s.min_conversion);
    return std::to_string(s.window) + " " + std::to_string(s.settle_seconds) + " " +
           std::to_string(s.min_sends) + " " + conversion + " " + std::to_string(s.max_pending) +
           " " + std::to_string(s.block_seconds);
}

GuardSlot guard_slot(const HashKey& number_key, const std::string& account, bool sandbox,
                     const std::string& country) {
    GuardSlot slot;
    slot.account = account;
    slot.sandbox = sandbox;
    slot.country = country.empty() ? "ZZ" : country;
    slot.tag = name_tag(number_key, "verifyd guard", {account, mode_letter(sandbox), slot.country});
    slot.safe = guard_key(slot.tag, "safe");
    slot.pauses = guard_key(slot.tag, "pauses");
    slot.strikes = guard_key(slot.tag, "strikes");
    return slot;
}

std::string target_key(const HashKey& number_key, const GuardSlot& slot,
                       const std::string& target) {
    return guard_key(slot.tag, "t:" + name_tag(number_key, "verifyd guard target", {target}));
}

GuardedSend guarded_send(const HashKey& number_key, const Caller& caller, GuardMode mode,
                         const std::string& to, const std::string& country,
                         const std::string& number_tag, const std::string& suffix,
                         const std::string& client_net, const std::string& client_id,
                         const FraudSettings& settings) {
    GuardedSend send;
    send.slot = guard_slot(number_key, caller.account, caller.sandbox, country);
    send.mode = mode;
    send.prefix = number_prefix(to);
    send.number_tag = number_tag;
    send.suffix = suffix;
    send.prefix_key = target_key(number_key, send.slot, send.prefix);
    send.country_key = target_key(number_key, send.slot, send.slot.country);
    if (client_net.empty() && client_id.empty()) return send;
    const std::string client_tag =
        name_tag(number_key, "verifyd client", {caller.account, mode_letter(caller.sandbox)});
    if (!client_net.empty())
        send.clients.push_back(
            {client_key(client_tag, "ip", name_tag(number_key, "verifyd client ip", {client_net})),
             format_send_limits(settings.client_ip_limits), "client_ip"});
    if (!client_id.empty())
        send.clients.push_back(
            {client_key(client_tag, "id", name_tag(number_key, "verifyd client id", {client_id})),
             format_send_limits(settings.client_id_limits), "client_id"});
    return send;
}

std::optional<Pause> parse_pause(const std::string& text) {
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (!json.is_object()) return std::nullopt;
    Pause pause;
    pause.started = json.value("change", "") == "started";
    pause.country = json.value("country", "");
    pause.target = json.value("target", "");
    pause.kind = json.value("kind", "");
    pause.reason = json.value("reason", "");
    pause.sends = json.value("sends", 0LL);
    pause.approved = json.value("approved", 0LL);
    pause.settled = json.value("settled", 0LL);
    pause.strikes = json.value("strikes", 0LL);
    pause.enforced = json.value("enforced", true);
    pause.paused_at_ms = json.value("paused_at", int64_t{0});
    pause.expires_at_ms = json.value("expires_at", int64_t{0});
    if (pause.target.empty()) return std::nullopt;
    return pause;
}

void report_pause(const Pause& pause, const std::string& account, bool sandbox, Metrics& metrics) {
    if (pause.started) metrics.count_fraud_pause(pause.kind, pause.reason, pause.country);
    const double conversion =
        pause.settled > 0 ? static_cast<double>(pause.approved) / pause.settled : 0.0;
    log_event(LogLevel::Warn,
              pause.started ? "fraud guard pause started" : "fraud guard pause ended",
              {{"account", account},
               {"sandbox", sandbox},
               {"target", pause.target},
               {"kind", pause.kind},
               {"reason", pause.reason},
               {"enforced", pause.enforced},
               {"sends", pause.sends},
               {"settled", pause.settled},
               {"approved", pause.approved},
               {"conversion", conversion},
               {"strikes", pause.strikes},
               {"expires_at", format_rfc3339(pause.expires_at_ms)}});
}

}  // namespace verifyd
