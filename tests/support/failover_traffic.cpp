// The failover traffic of failover_traffic.hpp.
#include "support/failover_traffic.hpp"

#include <catch2/catch.hpp>

#include "support/test_keys.hpp"

namespace verifyd_test {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

}  // namespace

bool is_unavailable(const HttpResponse& response) {
    const json body = response.json();
    if (response.status != 503 || !body.is_object() || !body.contains("error") ||
        !body["error"].is_object()) {
        return false;
    }
    const json& error = body["error"];
    const auto header = response.header("Retry-After");
    return error.value("code", 0) == 5000 && error.contains("retry_after") &&
           error["retry_after"].is_number_integer() && error["retry_after"].get<int>() >= 1 &&
           header && *header == std::to_string(error["retry_after"].get<int>());
}

HttpResponse retrying(const std::function<HttpResponse()>& request, size_t& retries) {
    const auto deadline = Clock::now() + seconds(3);
    HttpResponse response = request();
    while (is_unavailable(response) && Clock::now() < deadline) {
        ++retries;
        std::this_thread::sleep_for(milliseconds(100));
        response = request();
    }
    return response;
}

void require_round_trip(VerifydInstance& v, const std::string& to, bool retry_unavailable) {
    const std::string& key = v.key(kTestA);
    size_t retries = 0;
    auto run = [&](const std::function<HttpResponse()>& request) {
        return retry_unavailable ? retrying(request, retries) : request();
    };
    // A 503 may come after the change was made (a WAIT that fell short): each change
    // carries an Idempotency-Key, so that its retry answers what it did.
    const Headers send_key = {{"Idempotency-Key", "round-trip-send-" + random_hex(8)}};
    const Headers check_key = {{"Idempotency-Key", "round-trip-check-" + random_hex(8)}};
    json sent = require_success(run([&] {
                                    return v.post("/verify/send", key, {{"to", to}}, send_key);
                                }),
                                201);
    const std::string id = sent["id"];
    json read = require_success(run([&] { return v.get_verification(key, id); }));
    const json::json_pointer code("/template_variables/code");
    REQUIRE(read.contains(code));
    json checked = require_success(run([&] {
        return v.post("/verify/check", key, {{"id", id}, {"code", read[code]}}, check_key);
    }));
    CHECK(checked.value("status", "") == "approved");
}

void require_acknowledged_kept(VerifydInstance& v, const Traffic& traffic) {
    const std::string& key = v.key(kTestA);
    size_t approvals_lost = 0;
    size_t retries = 0;
    for (const auto& sent : traffic.acknowledged()) {
        INFO("verification " << sent.id);
        json data =
            require_success(retrying([&] { return v.get_verification(key, sent.id); }, retries));
        const std::string status = data.value("status", "");
        if (sent.approved) {
            INFO("its check answered \"approved\"; pending now means its code works again");
            CHECK(status == "approved");
            approvals_lost += status == "approved" ? 0 : 1;
            continue;
        }
        if (sent.check_tried) {
            CHECK((status == "approved" || status == "pending"));
            continue;
        }
        CHECK(status == "pending");
        const json::json_pointer code("/template_variables/code");
        REQUIRE(data.contains(code));
        json checked =
            require_success(retrying([&] { return v.check(key, sent.id, data[code]); }, retries));
        CHECK(checked.value("status", "") == "approved");
    }
    if (approvals_lost > 0) {
        WARN(approvals_lost << " verifications answered \"approved\" were pending again after "
                               "the failover");
    }
    if (retries > 0) {
        WARN(retries << " requests after the failover answered 503 before succeeding");
    }
}

void require_only_unavailable(VerifydInstance& v, const Traffic& traffic) {
    const std::vector<std::string> unexpected = traffic.unexpected();
    std::string listed;
    for (size_t i = 0; i < unexpected.size() && i < 10; ++i) {
        listed += unexpected[i] + "\n";
    }
    INFO(unexpected.size() << " answers other than success or 503 / 5000, the first:\n" << listed);
    CHECK(unexpected.empty());
    INFO(v.log());
    CHECK(v.process().running());
    CHECK(v.get("/healthz").status == 200);
}

}  // namespace verifyd_test
