// Covers outbox.hpp's retry_delay_ms: exponential backoff with jitter, capped, and never
// shorter than the provider's Retry-After.
#include "verifyd/outbox.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "verifyd/crypto.hpp"

namespace {

verifyd::DeliverySettings backoff(int base_ms, int max_ms) {
    verifyd::DeliverySettings settings;
    settings.backoff_ms = base_ms;
    settings.max_backoff_ms = max_ms;
    return settings;
}

}  // namespace

TEST_CASE("a retry waits between half and all of a backoff that doubles per attempt") {
    verifyd::init_crypto();
    const auto settings = backoff(100, 100000);
    for (int attempt = 1; attempt <= 6; ++attempt) {
        const int ceiling = 100 << (attempt - 1);
        for (int draw = 0; draw < 200; ++draw) {
            int delay = verifyd::retry_delay_ms(settings, attempt, 0);
            INFO("attempt " << attempt << " delay " << delay);
            CHECK(delay >= ceiling / 2);
            CHECK(delay <= ceiling);
        }
    }
}

TEST_CASE("retry delays are jittered, not all the same") {
    verifyd::init_crypto();
    std::set<int> delays;
    for (int draw = 0; draw < 50; ++draw)
        delays.insert(verifyd::retry_delay_ms(backoff(1000, 60000), 3, 0));
    CHECK(delays.size() > 10);
}

TEST_CASE("the backoff stops growing at its cap") {
    verifyd::init_crypto();
    for (int draw = 0; draw < 200; ++draw) {
        int delay = verifyd::retry_delay_ms(backoff(500, 2000), 30, 0);
        CHECK(delay >= 1000);
        CHECK(delay <= 2000);
    }
}

TEST_CASE("a Retry-After longer than the backoff is honoured, even past the cap") {
    verifyd::init_crypto();
    CHECK(verifyd::retry_delay_ms(backoff(50, 400), 1, 3) >= 3000);
    CHECK(verifyd::retry_delay_ms(backoff(50, 400), 8, 120) >= 120000);
    CHECK(verifyd::retry_delay_ms(backoff(50, 400), 1, 0) <= 50);
}
