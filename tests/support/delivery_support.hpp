// Shared pieces of the delivery tests (§7): the settings
// that point verifyd at a FakeProvider with short retry timings, and bounded waits on a
// message's status as GET /messages/{id} shows it. Not for: assertions about what a
// delivery must look like (the test files say that) or the fake server itself.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "support/fake_provider.hpp"
#include "support/verifyd_instance.hpp"

namespace verifyd_test {

// Retry timings short enough for tests: backoff 50 ms doubling to 400 ms, 800 ms per
// provider call, a job idle 1.5 s taken over by another replica.
Settings fast_delivery();
// `base` with every setting of `more` applied over it.
Settings merged(Settings base, const Settings& more);

// VERIFYD_PROVIDER=sent against `fake` with this API key, plus fast_delivery().
Settings sent_provider(const FakeProvider& fake, const std::string& api_key);
// VERIFYD_PROVIDER=webhook posting to `fake` at `path` with this secret, plus
// fast_delivery().
Settings webhook_provider(const FakeProvider& fake, const std::string& secret,
                          const std::string& path = "/hooks/verifyd");

// The last `lines` lines of a log, to show with a failed wait.
std::string log_tail(const std::string& log, size_t lines = 30);

// REQUIREs that a bounded wait succeeded; when it did not, the failure shows `what` was
// awaited and the end of verifyd's log. Only inside a running test case.
void require_done(bool done, const VerifydInstance& v, const std::string& what);

// data.delivery of GET /verify/{id}, read with the key named `key_name` (test_keys.hpp).
nlohmann::json delivery_of(VerifydInstance& v, const std::string& key_name, const std::string& id);

// data of GET /messages/{message_id} (throws when it does not answer 200).
nlohmann::json read_message(VerifydInstance& v, const std::string& api_key,
                            const std::string& message_id);
// Polls GET /messages/{message_id} until `status`; returns the last status seen.
std::string wait_for_message_status(VerifydInstance& v, const std::string& api_key,
                                    const std::string& message_id, const std::string& status,
                                    std::chrono::milliseconds wait = std::chrono::seconds(5));

}  // namespace verifyd_test
