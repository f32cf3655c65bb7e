// The fraud guard's administration (§10.3), scope verify:admin: the pauses in force,
// lifting one (a false positive), and the safe list. Each account sees and changes only
// its own, in the mode of the key or of ?sandbox=true.
#include <algorithm>
#include <cctype>

#include "service/http/handlers.hpp"
#include "service/http/views.hpp"
#include "verifyd/fraud_guard.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

// The caller's own pauses among every account's.
std::vector<PauseEntry> own_entries(const std::vector<PauseEntry>& all, const Caller& caller) {
    std::vector<PauseEntry> own;
    std::copy_if(all.begin(), all.end(), std::back_inserter(own), [&](const PauseEntry& entry) {
        return entry.account == caller.account && entry.sandbox == caller.sandbox;
    });
    return own;
}

// "+" and 1 to 14 digits, or an ISO 3166-1 alpha-2 code (upper case, as listed).
bool is_target(const std::string& target) {
    if (!target.empty() && target[0] == '+') return is_number_prefix(target);
    return target.size() == 2 && std::isupper(static_cast<unsigned char>(target[0])) &&
           std::isupper(static_cast<unsigned char>(target[1]));
}

ApiError no_pause() {
    return with_status(make_field_error(ErrorCode::InvalidRequest, "target", "has no pause"), 404);
}

// The mode and the number key every route here needs; false once refused.
bool ready(const HttpRequest& request, const ExchangePtr& exchange) {
    if (auto refused = read_query_mode(request, *exchange)) {
        exchange->refuse(*refused);
        return false;
    }
    if (!exchange->credentials->number_key) {
        exchange->refuse(number_key_missing());
        return false;
    }
    return true;
}

void change_safe_list(const HttpRequest& request, const std::string& id,
                      const ExchangePtr& exchange, const char* operation) {
    if (!ready(request, exchange)) return;
    const std::string number = percent_decode(id).value_or("");
    auto tag = exchange->tag_of_number(number, "number");
    if (tag.error) return exchange->refuse(*tag.error);
    const GuardSlot slot =
        guard_slot(*exchange->credentials->number_key, exchange->caller.account,
                   exchange->caller.sandbox, exchange->services.phones.region_of(number));
    exchange->services.store.safe_list(
        slot, tag.value, operation,
        exchange->respond_with<bool>([number](Exchange& x, const bool& safe) {
            return x.ok(200, JsonObjectText().member("number", number).member("safe", safe));
        }));
}

}  // namespace

void list_fraud_blocks(const HttpRequest& request, const std::string&,
                       const ExchangePtr& exchange) {
    if (!ready(request, exchange)) return;
    exchange->services.store.pause_index([exchange](Result<std::vector<PauseEntry>> index) {
        exchange->guarded([&] {
            if (index.error) return exchange->refuse(*index.error);
            exchange->services.store.read_pauses(
                *exchange->credentials->number_key, own_entries(index.value, exchange->caller),
                exchange->respond_with<std::vector<Pause>>(
                    [](Exchange& x, const std::vector<Pause>& pauses) {
                        nlohmann::json blocks = nlohmann::json::array();
                        for (const Pause& pause : pauses) blocks.push_back(pause_json(pause));
                        return x.ok(200, nlohmann::json{{"blocks", std::move(blocks)}});
                    }));
        });
    });
}

void lift_fraud_block(const HttpRequest& request, const std::string& id,
                      const ExchangePtr& exchange) {
    if (!ready(request, exchange)) return;
    const std::string target = percent_decode(id).value_or("");
    if (!is_target(target))
        return exchange->refuse(make_field_error(
            ErrorCode::InvalidRequest, "target",
            "must be a prefix (+ and 1 to 14 digits) or an ISO 3166-1 alpha-2 country code"));
    exchange->services.store.pause_index([exchange, target](Result<std::vector<PauseEntry>> index) {
        exchange->guarded([&] {
            if (index.error) return exchange->refuse(*index.error);
            auto own = own_entries(index.value, exchange->caller);
            auto entry = std::find_if(own.begin(), own.end(),
                                      [&](const PauseEntry& e) { return e.target == target; });
            if (entry == own.end()) return exchange->refuse(no_pause());
            exchange->services.store.lift(
                *exchange->credentials->number_key, *entry, [exchange](Result<Pause> lifted) {
                    exchange->guarded([&] {
                        if (lifted.error && lifted.error->code == ErrorCode::InvalidRequest)
                            return exchange->refuse(no_pause());
                        if (lifted.error) return exchange->refuse(*lifted.error);
                        report_pause(lifted.value, exchange->caller.account,
                                     exchange->caller.sandbox, exchange->services.metrics);
                        nlohmann::json block = pause_json(lifted.value);
                        block["lifted"] = true;
                        exchange->reply(exchange->ok(200, block));
                    });
                });
        });
    });
}

void put_safe_number(const HttpRequest& request, const std::string& id,
                     const ExchangePtr& exchange) {
    change_safe_list(request, id, exchange, "put");
}

void get_safe_number(const HttpRequest& request, const std::string& id,
                     const ExchangePtr& exchange) {
    change_safe_list(request, id, exchange, "get");
}

void delete_safe_number(const HttpRequest& request, const std::string& id,
                        const ExchangePtr& exchange) {
    change_safe_list(request, id, exchange, "delete");
}

}  // namespace verifyd
