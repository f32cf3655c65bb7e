// Provider settings and message-status waits for the delivery tests.
#include "support/delivery_support.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

#include "support/api_checks.hpp"

namespace verifyd_test {

Settings fast_delivery() {
    return {
        {"VERIFYD_DELIVERY_BACKOFF_MS", "50"},  {"VERIFYD_DELIVERY_MAX_BACKOFF_MS", "400"},
        {"VERIFYD_DELIVERY_TIMEOUT_MS", "800"}, {"VERIFYD_DELIVERY_CLAIM_IDLE_MS", "1500"},
        {"VERIFYD_DELIVERY_MAX_ATTEMPTS", "8"},
    };
}

Settings merged(Settings base, const Settings& more) {
    for (const auto& [name, value] : more) {
        base[name] = value;
    }
    return base;
}

Settings sent_provider(const FakeProvider& fake, const std::string& api_key) {
    return merged(fast_delivery(), {
                                       {"VERIFYD_PROVIDER", "sent"},
                                       {"VERIFYD_SENT_BASE_URL", fake.base_url()},
                                       {"VERIFYD_SENT_API_KEY", api_key},
                                   });
}

Settings webhook_provider(const FakeProvider& fake, const std::string& secret,
                          const std::string& path) {
    return merged(fast_delivery(), {
                                       {"VERIFYD_PROVIDER", "webhook"},
                                       {"VERIFYD_WEBHOOK_URL", fake.url(path)},
                                       {"VERIFYD_WEBHOOK_SECRET", secret},
                                   });
}

std::string log_tail(const std::string& log, size_t lines) {
    size_t start = log.size();
    for (size_t seen = 0; start > 0 && seen <= lines;) {
        --start;
        if (log[start] == '\n') {
            ++seen;
        }
    }
    return log.substr(start);
}

void require_done(bool done, const VerifydInstance& v, const std::string& what) {
    INFO("waited for: " << what);
    INFO("end of verifyd's log:\n" << (done ? std::string() : log_tail(v.log())));
    REQUIRE(done);
}

nlohmann::json read_message(VerifydInstance& v, const std::string& api_key,
                            const std::string& message_id) {
    HttpResponse response = v.get("/messages/" + message_id, api_key);
    nlohmann::json json = response.json();
    if (response.status != 200 || !json.is_object() || !json.contains("data")) {
        throw std::runtime_error("GET /messages/" + message_id + " answered " +
                                 std::to_string(response.status) + " " + response.body);
    }
    return json["data"];
}

std::string wait_for_message_status(VerifydInstance& v, const std::string& api_key,
                                    const std::string& message_id, const std::string& status,
                                    std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::string last;
    for (;;) {
        HttpResponse response = v.get("/messages/" + message_id, api_key);
        nlohmann::json json = response.json();
        if (response.status == 200 && json.is_object() && json.contains("data") &&
            json["data"].is_object()) {
            last = json["data"].value("status", "");
            if (last == status) {
                return last;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return last;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

nlohmann::json delivery_of(VerifydInstance& v, const std::string& key_name, const std::string& id) {
    return require_success(v.get_verification(v.key(key_name), id))["delivery"];
}

}  // namespace verifyd_test
