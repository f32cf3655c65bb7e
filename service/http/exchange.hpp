// One request's way through the API, from the router to its response: who asks, with
// which Idempotency-Key, and the steps every handler ends with (reply, which counts the
// request against the key's limit; refuse; the Idempotency-Key's claim; the
// continuation of a store call), then the metrics and the access log. Not for: what a
// route does (handlers/) or which route a request takes (router.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "service/http/envelope.hpp"
#include "verifyd/api.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/idempotency.hpp"
#include "verifyd/log.hpp"
#include "verifyd/phone.hpp"

namespace verifyd {

// What every handler may use.
struct ApiServices {
    ApiServices(const ApiSettings& settings, const CredentialStore& credentials, Store& store,
                const Templates& templates, Metrics& metrics)
        : settings(settings),
          credentials(credentials),
          store(store),
          templates(templates),
          metrics(metrics),
          phones(settings.allowed_countries) {}

    const ApiSettings settings;
    const CredentialStore& credentials;
    Store& store;
    const Templates& templates;
    Metrics& metrics;
    const PhoneValidator phones;
    std::atomic<bool> draining{false};
    std::atomic<int> in_flight{0};
};

class Exchange;
using ExchangePtr = std::shared_ptr<Exchange>;

class Exchange : public std::enable_shared_from_this<Exchange> {
  public:
    // Counted in flight until its response is handed to the server.
    Exchange(ApiServices& services, const HttpRequest& request, Respond respond);

    ApiServices& services;
    std::string request_id;
    std::string method;
    std::string route = "unmatched";  // the route's label, for metrics and the log
    std::chrono::steady_clock::time_point started;
    std::shared_ptr<const Credentials> credentials;  // one snapshot for the whole request
    Caller caller;
    bool authenticated = false;
    bool live_key = false;
    std::optional<std::string> idempotency_key;  // the request's Idempotency-Key, if any
    std::string fingerprint;                     // of the request, when it has one
    bool replayed = false;                       // the answer is a recorded one
    // A request under /v2, the Twilio face (§11): its answers are Twilio's resources,
    // errors are Twilio's bodies, and its caller authenticates with HTTP Basic.
    bool twilio_face = false;
    // The account SID the Twilio face's caller authenticated with: its account's (§11).
    std::string twilio_account_sid;

    // A response that says `error`, remembered for the metrics and the log.
    HttpResponse fail(ApiError error);
    HttpResponse ok(int status, const nlohmann::json& data);
    HttpResponse ok(int status, JsonObjectText data);
    // A Twilio resource as it is, without the envelope; 204 has no body.
    HttpResponse resource(int status, const nlohmann::json& body);
    // The same, already JSON text.
    HttpResponse resource_text(int status, std::string body);

    // Runs a step of the request; an exception in it answers 500.
    template <typename Step>
    void guarded(Step&& step);
    // The response, once the request has been counted against the key's limit (a
    // request no store call counted, such as an invalid one, is counted here).
    void reply(HttpResponse response);
    // reply() with the error response for `error`.
    void refuse(ApiError error);
    // refuse(), once a final refusal of a request with an Idempotency-Key is recorded
    // (or the one recorded for it earlier is found: that one is the answer). A refusal
    // that is not final (a 503, a 4029) is only answered.
    void refuse_final(ApiError error);
    // Runs `step` with the request's Idempotency-Key claimed, or with null when it has
    // none; a recorded answer is replayed instead.
    void idempotently(std::function<void(const Idempotency*)> step);
    // The continuation of a store call: its error is the response, or else `success`,
    // called as HttpResponse(Exchange&, const T&), makes one from its value.
    template <typename T, typename Success>
    Then<T> respond_with(Success success);
    // The store, for a call whose script counts the request against the key's limit.
    Store& counting();
    // The tag of a number in the caller's account and mode, or why there is none: the
    // number is refused (4001, naming `field`, the request's name for it), or the number
    // key is not known yet (503).
    Result<std::string> tag_of_number(const std::string& to, const char* field = "to") const;

  private:
    void replay_refusal(const std::string& recorded);
    // Headers, metrics and the access log, then the response goes out.
    void finish(HttpResponse response);
    void log_request(int status, double seconds) const;
    int claim_lease_ms() const;

    std::optional<ApiError> error_;  // set by a handler that refuses
    bool counted_ = false;           // a store call has counted this request
    bool answered_ = false;
    Respond respond_;
};

// 503 until the number key is read from Redis: nothing that names a number can be
// served before.
ApiError number_key_missing();

template <typename Step>
void Exchange::guarded(Step&& step) {
    try {
        step();
    } catch (const std::exception& e) {
        log_event(LogLevel::Error, "request failed",
                  {{"request_id", request_id}, {"error", e.what()}});
        if (!answered_) finish(fail(make_error(ErrorCode::InternalError)));
    }
}

template <typename T, typename Success>
Then<T> Exchange::respond_with(Success success) {
    return [self = shared_from_this(), success = std::move(success)](Result<T> result) {
        self->guarded([&] {
            self->replayed = self->replayed || result.replayed;
            if (result.error) return self->refuse(*result.error);
            self->reply(success(*self, result.value));
        });
    };
}

}  // namespace verifyd
