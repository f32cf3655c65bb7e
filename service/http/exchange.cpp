// A request's lifecycle (exchange.hpp): counting against the key's limit, refusals and
// their recording under an Idempotency-Key, and the way out through metrics and the
// access log.
#include "service/http/exchange.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "service/http/envelope.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/text.hpp"
#include "verifyd/twilio.hpp"

namespace verifyd {
namespace {

bool is_request_id(const std::string& id) {
    return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
}

}  // namespace

ApiError number_key_missing() {
    return make_unavailable(ErrorCode::InternalError,
                            "verifyd has not read its number key from Redis yet.", 1);
}

Exchange::Exchange(ApiServices& services, const HttpRequest& request, Respond respond)
    : services(services),
      method(request.method),
      started(std::chrono::steady_clock::now()),
      credentials(services.credentials.current()),
      twilio_face(request.path == "/v2" || starts_with(request.path, "/v2/")),
      respond_(std::move(respond)) {
    ++services.in_flight;
    auto presented_id = request.header("X-Request-Id");
    request_id =
        presented_id && is_request_id(*presented_id) ? *presented_id : "req_" + random_token(12);
}

HttpResponse Exchange::fail(ApiError error) {
    error_ = error;
    HttpResponse response =
        twilio_face ? twilio_error_response(error) : error_response(request_id, error);
    // A 401 names the scheme that authenticates (RFC 9110 §11.6.1).
    if (response.status == 401)
        response.headers.emplace_back("WWW-Authenticate", twilio_face ? "Basic realm=\"verifyd\""
                                                                      : "Bearer realm=\"verifyd\"");
    return response;
}

HttpResponse Exchange::resource(int status, const nlohmann::json& body) {
    HttpResponse response;
    response.status = status;
    if (status != 204)
        response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return response;
}

HttpResponse Exchange::resource_text(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    return response;
}

HttpResponse Exchange::ok(int status, const nlohmann::json& data) {
    return success_response(request_id, status, data);
}

HttpResponse Exchange::ok(int status, JsonObjectText data) {
    return success_response_text(request_id, status, std::move(data).close());
}

Store& Exchange::counting() {
    counted_ = true;
    return services.store;
}

void Exchange::reply(HttpResponse response) {
    // Invalid requests count against the key's limit too; once over it, the key is told
    // so rather than what was wrong with the request.
    if (!authenticated || counted_) return finish(std::move(response));
    counting().count_request(
        caller, [self = shared_from_this(), response = std::move(response)](Result<bool> counted) {
            self->guarded([&] {
                if (counted.error && counted.error->code == ErrorCode::RateLimitExceeded)
                    return self->finish(self->fail(*counted.error));
                self->finish(response);
            });
        });
}

void Exchange::refuse(ApiError error) {
    reply(fail(std::move(error)));
}

void Exchange::refuse_final(ApiError error) {
    const auto& number_key = credentials->number_key;
    if (!idempotency_key || !number_key || !is_recorded_refusal(error))
        return refuse(std::move(error));
    Idempotency key = make_idempotency(*number_key, caller, route, *idempotency_key, fingerprint,
                                       services.settings.idempotency_ttl);
    services.store.claim(key, claim_lease_ms(), encode_refusal(error),
                         [self = shared_from_this(), error](Result<IdempotencyClaim> claim) {
                             self->guarded([&] {
                                 if (claim.error) return self->refuse(*claim.error);
                                 if (claim.value.next == IdempotencyClaim::Next::Replay)
                                     return self->replay_refusal(claim.value.answer);
                                 self->refuse(error);
                             });
                         });
}

void Exchange::replay_refusal(const std::string& recorded) {
    auto error = decode_refusal(recorded);
    if (!error) return refuse(make_error(ErrorCode::InternalError));
    replayed = true;
    refuse(*error);
}

void Exchange::idempotently(std::function<void(const Idempotency*)> step) {
    if (!idempotency_key) return step(nullptr);
    const auto& number_key = credentials->number_key;
    if (!number_key) return refuse(number_key_missing());
    auto key = std::make_shared<Idempotency>(make_idempotency(*number_key, caller, route,
                                                              *idempotency_key, fingerprint,
                                                              services.settings.idempotency_ttl));
    services.store.claim(
        *key, claim_lease_ms(), "",
        [self = shared_from_this(), key, step = std::move(step)](Result<IdempotencyClaim> claim) {
            self->guarded([&] {
                if (claim.error) return self->refuse(*claim.error);
                if (claim.value.next == IdempotencyClaim::Next::Replay)
                    return self->replay_refusal(claim.value.answer);
                key->follow = claim.value.next == IdempotencyClaim::Next::Follow;
                step(key.get());
            });
        });
}

Result<std::string> Exchange::tag_of_number(const std::string& to, const char* field) const {
    PhoneCheck phone = services.phones.check(to);
    if (!phone.ok) return {make_field_error(ErrorCode::InvalidPhone, field, phone.problem)};
    const auto& number_key = credentials->number_key;
    if (!number_key) return {number_key_missing()};
    return {std::nullopt, number_tag(*number_key, caller.account, caller.sandbox, to)};
}

// The access log's line, built by hand: it is written for every request.
void Exchange::log_request(int status, double seconds) const {
    std::string fields = "\"request_id\":";
    append_json_string(fields, request_id);
    fields += ",\"method\":";
    append_json_string(fields, method);
    fields += ",\"route\":";
    append_json_string(fields, route);
    fields += ",\"status\":" + std::to_string(status);
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.3f", seconds * 1000.0);
    fields += ",\"latency_ms\":";
    fields += latency;
    if (error_) fields += ",\"error_code\":" + std::to_string(static_cast<int>(error_->code));
    if (authenticated) {
        fields += ",\"account\":";
        append_json_string(fields, caller.account);
        fields += ",\"key_id\":";
        append_json_string(fields, caller.key_id);
    }
    log_fields(LogLevel::Info, "request", fields);
}

// Long enough for a request to go from its claim to its state change (each Redis call
// bounded by the timeout, a WAIT by its own), short enough that a retry after a crash
// runs soon.
int Exchange::claim_lease_ms() const {
    const ApiSettings& settings = services.settings;
    return 3 * settings.redis_timeout_ms + settings.redis_wait_timeout_ms + 1000;
}

void Exchange::finish(HttpResponse response) {
    answered_ = true;
    response.headers.emplace_back("X-Request-Id", request_id);
    if (replayed) response.headers.emplace_back(kReplayedHeader, "true");
    if (error_) services.metrics.count_error(error_->code);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    services.metrics.observe_request(route, response.status, seconds);
    if (log_enabled(LogLevel::Info)) log_request(response.status, seconds);
    // Counted out only once the server has the response, so that a shutdown waiting for
    // the requests in flight does not close the connection under it.
    respond_(std::move(response));
    --services.in_flight;
}

}  // namespace verifyd
