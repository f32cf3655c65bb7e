// The API's routes and handlers: authentication, the success and error envelopes, and
// the shape of every response. Handlers validate with requests.hpp, hash with
// crypto.hpp and change state only through the store.
#include "verifyd/api.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "verifyd/crypto.hpp"
#include "verifyd/idempotency.hpp"
#include "verifyd/log.hpp"
#include "verifyd/requests.hpp"

namespace verifyd {
namespace {

using nlohmann::json;
using SystemClock = std::chrono::system_clock;

bool is_request_id(const std::string& id) {
    return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
}

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               SystemClock::now().time_since_epoch())
        .count();
}

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    size_t pos = 1;
    while (pos <= path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string::npos) next = path.size();
        parts.push_back(path.substr(pos, next - pos));
        pos = next + 1;
    }
    return parts;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    return text;
}

json text_or_null(const std::string& text) {
    return text.empty() ? json(nullptr) : json(text);
}

json delivery_json(const Verification& v) {
    // The last provider error explains a retry in progress or a failure, not a success.
    bool show_error = v.delivery_status == "queued" || v.delivery_status == "failed";
    return {{"status", v.delivery_status},
            {"channel", v.delivery_channel},
            {"fallback_reason", text_or_null(v.fallback_reason)},
            {"error", show_error ? text_or_null(v.delivery_error) : json(nullptr)}};
}

// The variables a verification's message is rendered with; the code only for sandbox
// ones, since a live code is never stored readable.
json rendered_variables(const Verification& v, const std::string& app_name) {
    const int ttl_seconds = static_cast<int>((v.expires_ms - v.created_ms) / 1000);
    json variables = message_variables(app_name, ttl_seconds, v.template_variables);
    if (v.sandbox) variables["code"] = v.code;
    return variables;
}

json verification_json(const Verification& v, bool with_details, const std::string& app_name) {
    json data = {{"id", make_record_id(kVerificationPrefix, v.ref)},
                 {"to", v.to},
                 {"channel", v.channel},
                 {"status", v.status},
                 {"code_length", v.code_length},
                 {"max_attempts", v.max_attempts},
                 {"attempts_remaining", std::max(0, v.max_attempts - v.attempts)},
                 {"created_at", format_rfc3339(v.created_ms)},
                 {"expires_at", format_rfc3339(v.expires_ms)},
                 {"sandbox", v.sandbox},
                 {"message_id", make_record_id(kMessagePrefix, v.ref)},
                 {"locale", v.locale},
                 {"fallback", text_or_null(v.fallback)}};
    if (v.status == "locked") data["attempts_remaining"] = 0;
    if (with_details) {
        data["attempts"] = v.attempts;
        data["delivery"] = delivery_json(v);
        if (v.sandbox) data["template_variables"] = rendered_variables(v, app_name);
    }
    return data;
}

// A live message never shows its code: its variables hold none, and its body (which
// would) is left out.
json message_json(const Verification& v, const Templates& templates, const std::string& app_name) {
    const json variables = rendered_variables(v, app_name);
    json data = {{"id", make_record_id(kMessagePrefix, v.ref)},
                 {"verification_id", make_record_id(kVerificationPrefix, v.ref)},
                 {"to", v.to},
                 {"channel", v.delivery_channel},
                 {"status", v.delivery_status},
                 {"sandbox", v.sandbox},
                 {"template", {{"name", v.template_name}, {"variables", variables}}},
                 {"locale", v.locale},
                 {"created_at", format_rfc3339(v.created_ms)}};
    if (v.sandbox) data["body"] = templates.render(v.locale, variables);
    return data;
}

std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Every JSON response: {"data"|"error": …, "meta": {…}, "success": …}. Written as text,
// keys in the order nlohmann would sort them, since building the fixed envelope as a
// json object costs a map per response.
std::string envelope(bool ok, const json& part, const std::string& request_id) {
    std::string body = ok ? "{\"data\":" : "{\"error\":";
    body += dump(part);
    body += ",\"meta\":{\"request_id\":";
    body += dump(request_id);
    body += ",\"timestamp\":\"";
    body += format_rfc3339(now_ms());
    body += "\",\"version\":\"v1\"},\"success\":";
    body += ok ? "true}" : "false}";
    return body;
}

// Until the number key is read from Redis, nothing that names a number can be served.
ApiError number_key_missing() {
    return with_retry_after(
        with_status(make_error(ErrorCode::InternalError,
                               "verifyd has not read its number key from Redis yet."),
                    503),
        1);
}

// Each hash key in use hashes the code, so that it checks whichever key a replica
// checks it with during a rotation.
std::string code_hashes(const Credentials& credentials, const std::string& verification_id,
                        const std::string& code) {
    std::string hashes;
    for (const HashKey* key : credentials.code_keys())
        hashes += code_hash(*key, verification_id, code);
    return hashes;
}

HttpResponse success(const std::string& request_id, int status, const json& data) {
    HttpResponse response;
    response.status = status;
    response.body = envelope(true, data, request_id);
    return response;
}

HttpResponse failure(const std::string& request_id, const ApiError& error) {
    json body_error = {{"code", static_cast<int>(error.code)},
                       {"type", error.type()},
                       {"message", error.message},
                       {"request_id", request_id}};
    HttpResponse response;
    response.status = error.http_status;
    if (error.retry_after > 0) {
        body_error["retry_after"] = error.retry_after;
        response.headers.emplace_back("Retry-After", std::to_string(error.retry_after));
    }
    if (!error.details.empty()) body_error["details"] = error.details;
    response.body = envelope(false, body_error, request_id);
    return response;
}

}  // namespace

struct Api::Context {
    std::string request_id;
    std::string method;
    std::string route = "unmatched";
    std::chrono::steady_clock::time_point started;
    std::shared_ptr<const Credentials> credentials;  // one snapshot for the whole request
    Caller caller;
    bool authenticated = false;
    bool counted = false;  // a store call has counted this request against the key's limit
    bool live_key = false;
    bool answered = false;
    std::optional<std::string> idempotency_key;  // the request's Idempotency-Key, if any
    std::string fingerprint;                     // of the request, when it has one
    bool replayed = false;                       // the answer is a recorded one
    std::optional<ApiError> error;               // set by a handler that refuses
    Respond respond;

    HttpResponse fail(ApiError e) {
        error = e;
        return failure(request_id, e);
    }
    HttpResponse ok(int status, const json& data) { return success(request_id, status, data); }
};

Api::Api(const Config& config, const CredentialStore& credentials, Store& store,
         const Templates& templates, Metrics& metrics)
    : config_(config),
      credentials_(credentials),
      store_(store),
      templates_(templates),
      metrics_(metrics),
      phones_(config.allowed_countries) {}

Store& Api::counting(Context& context) {
    context.counted = true;
    return store_;
}

void Api::handle(const HttpRequest& request, Respond respond) {
    ++in_flight_;
    auto context = std::make_shared<Context>();
    context->started = std::chrono::steady_clock::now();
    context->method = request.method;
    context->respond = std::move(respond);
    context->credentials = credentials_.current();
    auto presented_id = request.header("X-Request-Id");
    context->request_id =
        presented_id && is_request_id(*presented_id) ? *presented_id : "req_" + random_token(12);
    guarded(context, [&] { route(request, context); });
}

template <typename Step>
void Api::guarded(const ContextPtr& context, Step&& step) {
    try {
        step();
    } catch (const std::exception& e) {
        log_event(LogLevel::Error, "request failed",
                  {{"request_id", context->request_id}, {"error", e.what()}});
        if (!context->answered)
            finish(context, context->fail(make_error(ErrorCode::InternalError)));
    }
}

void Api::reply(const ContextPtr& context, HttpResponse response) {
    // Invalid requests count against the key's limit too; once over it, the key is told
    // so rather than what was wrong with the request.
    if (!context->authenticated || context->counted) return finish(context, std::move(response));
    counting(*context).count_request(
        context->caller, [this, context, response = std::move(response)](Result<bool> counted) {
            guarded(context, [&] {
                if (counted.error && counted.error->code == ErrorCode::RateLimitExceeded)
                    return finish(context, context->fail(*counted.error));
                finish(context, response);
            });
        });
}

void Api::refuse(const ContextPtr& context, ApiError error) {
    reply(context, context->fail(std::move(error)));
}

void Api::refuse_final(const ContextPtr& context, ApiError error) {
    const auto& number_key = context->credentials->number_key;
    if (!context->idempotency_key || !number_key || !is_recorded_refusal(error))
        return refuse(context, std::move(error));
    Idempotency key =
        make_idempotency(*number_key, context->caller, context->route, *context->idempotency_key,
                         context->fingerprint, config_.idempotency_ttl);
    store_.claim(key, claim_lease_ms(), encode_refusal(error),
                 [this, context, error](Result<IdempotencyClaim> claim) {
                     guarded(context, [&] {
                         if (claim.error) return refuse(context, *claim.error);
                         if (claim.value.next == IdempotencyClaim::Next::Replay)
                             return replay_refusal(context, claim.value.answer);
                         refuse(context, error);
                     });
                 });
}

void Api::replay_refusal(const ContextPtr& context, const std::string& recorded) {
    auto error = decode_refusal(recorded);
    if (!error) return refuse(context, make_error(ErrorCode::InternalError));
    context->replayed = true;
    refuse(context, *error);
}

template <typename Step>
void Api::idempotently(const ContextPtr& context, Step step) {
    if (!context->idempotency_key) return step(nullptr);
    const auto& number_key = context->credentials->number_key;
    if (!number_key) return refuse(context, number_key_missing());
    auto key = std::make_shared<Idempotency>(
        make_idempotency(*number_key, context->caller, context->route, *context->idempotency_key,
                         context->fingerprint, config_.idempotency_ttl));
    store_.claim(*key, claim_lease_ms(), "",
                 [this, context, key, step = std::move(step)](Result<IdempotencyClaim> claim) {
                     guarded(context, [&] {
                         if (claim.error) return refuse(context, *claim.error);
                         if (claim.value.next == IdempotencyClaim::Next::Replay)
                             return replay_refusal(context, claim.value.answer);
                         key->follow = claim.value.next == IdempotencyClaim::Next::Follow;
                         step(key.get());
                     });
                 });
}

std::optional<std::string> Api::tag_for(const Context& context, const std::string& number) const {
    const auto& number_key = context.credentials->number_key;
    if (!number_key) return std::nullopt;
    return number_tag(*number_key, context.caller.account, context.caller.sandbox, number);
}

// Long enough for a request to go from its claim to its state change (each Redis call
// bounded by the timeout, a WAIT by its own), short enough that a retry after a crash
// runs soon.
int Api::claim_lease_ms() const {
    return 3 * config_.redis_timeout_ms + config_.redis.wait_timeout_ms + 1000;
}

template <typename T, typename Success>
Then<T> Api::respond_with(const ContextPtr& context, Success success) {
    return [this, context, success = std::move(success)](Result<T> result) {
        guarded(context, [&] {
            context->replayed = context->replayed || result.replayed;
            if (result.error) return refuse(context, *result.error);
            reply(context, success(*context, result.value));
        });
    };
}

void Api::finish(const ContextPtr& context, HttpResponse response) {
    context->answered = true;
    response.headers.emplace_back("X-Request-Id", context->request_id);
    if (context->replayed) response.headers.emplace_back(kReplayedHeader, "true");
    if (context->error) metrics_.count_error(context->error->code);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - context->started).count();
    metrics_.observe_request(context->route, response.status, seconds);
    if (log_enabled(LogLevel::Info)) {
        nlohmann::json fields = {{"request_id", context->request_id},
                                 {"method", context->method},
                                 {"route", context->route},
                                 {"status", response.status},
                                 {"latency_ms", seconds * 1000.0}};
        if (context->error) fields["error_code"] = static_cast<int>(context->error->code);
        if (context->authenticated) {
            fields["account"] = context->caller.account;
            fields["key_id"] = context->caller.key_id;
        }
        log_event(LogLevel::Info, "request", fields);
    }
    // Counted out only once the server has the response, so that a shutdown waiting for
    // the requests in flight does not close the connection under it.
    context->respond(std::move(response));
    --in_flight_;
}

std::optional<ApiError> Api::authenticate(const HttpRequest& request, unsigned scope,
                                          Context& context) {
    std::optional<std::string> presented;
    if (auto authorization = request.header("Authorization")) {
        const std::string bearer = "bearer ";
        if (authorization->size() > bearer.size() &&
            lowercase(authorization->substr(0, bearer.size())) == bearer)
            presented = authorization->substr(bearer.size());
        else
            presented = "";
    } else if (auto api_key = request.header("x-api-key")) {
        presented = *api_key;
    }
    if (!presented) return make_error(ErrorCode::MissingApiKey);
    AuthResult auth = context.credentials->keys.authenticate(*presented, now_ms() / 1000);
    if (auth.error) return make_error(*auth.error);
    if (!(auth.key->scopes & scope)) return make_error(ErrorCode::InsufficientScope);
    // A test key is always in sandbox; a live key's request may ask for it.
    context.caller = {auth.key->account, auth.key->id, auth.key->requests_per_minute,
                      !auth.key->live};
    context.authenticated = true;
    context.live_key = auth.key->live;
    return std::nullopt;
}

// Where a route is served: the operations listener (VERIFYD_METRICS_LISTEN) serves
// health and metrics only; once it exists, the API listener no longer serves /metrics,
// whose numbers are the operator's business.
enum class Served {
    ApiOnly,
    Everywhere,
    ToOperators,  // on the operations listener, or on the API listener when there is none
};

struct Api::Route {
    // The request, and the path's {id} segment (empty for a literal path).
    using Handler = void (*)(Api&, const HttpRequest&, const std::string& id, const ContextPtr&);

    std::vector<std::string> pattern;  // path segments; "*" is one non-empty {id} segment
    const char* label;
    const char* method;
    unsigned scope;  // 0 = no authentication
    Handler handler;
    bool idempotent = false;  // takes an Idempotency-Key (§9)
    Served served = Served::ApiOnly;

    bool literal() const { return std::find(pattern.begin(), pattern.end(), "*") == pattern.end(); }
    // The {id} segment when the path matches, or nothing.
    std::optional<std::string> match(const std::vector<std::string>& parts) const {
        if (parts.size() != pattern.size()) return std::nullopt;
        std::string id;
        for (size_t i = 0; i < parts.size(); ++i) {
            if (pattern[i] == "*") {
                if (parts[i].empty()) return std::nullopt;
                id = parts[i];
            } else if (parts[i] != pattern[i]) {
                return std::nullopt;
            }
        }
        return id;
    }
};

const std::vector<Api::Route>& Api::routes() {
    static const std::vector<Route> table = {
        {{"verify", "send"},
         "/verify/send",
         "POST",
         kScopeSend,
         [](Api& api, const HttpRequest& request, const std::string&, const ContextPtr& context) {
             api.send(request, context);
         },
         true},
        {{"verify", "check"},
         "/verify/check",
         "POST",
         kScopeCheck,
         [](Api& api, const HttpRequest& request, const std::string&, const ContextPtr& context) {
             api.check(request, context);
         },
         true},
        {{"verify", "*"},
         "/verify/{id}",
         "GET",
         kScopeRead,
         [](Api& api, const HttpRequest& request, const std::string& id,
            const ContextPtr& context) { api.get_verification(request, id, context); }},
        {{"verify", "*", "cancel"},
         "/verify/{id}/cancel",
         "POST",
         kScopeSend,
         [](Api& api, const HttpRequest& request, const std::string& id,
            const ContextPtr& context) { api.cancel(request, id, context); },
         true},
        {{"messages"},
         "/messages",
         "GET",
         kScopeRead,
         [](Api& api, const HttpRequest& request, const std::string&, const ContextPtr& context) {
             api.list_messages(request, context);
         }},
        {{"messages", "*"},
         "/messages/{id}",
         "GET",
         kScopeRead,
         [](Api& api, const HttpRequest& request, const std::string& id,
            const ContextPtr& context) { api.get_message(request, id, context); }},
        {{"v3", "messages", "*"},
         "/v3/messages/{id}",
         "GET",
         kScopeRead,
         [](Api& api, const HttpRequest& request, const std::string& id,
            const ContextPtr& context) { api.get_message(request, id, context); }},
        {{"healthz"},
         "/healthz",
         "GET",
         0,
         [](Api& api, const HttpRequest&, const std::string&, const ContextPtr& context) {
             api.reply(context, context->ok(200, {{"status", "ok"}}));
         },
         false,
         Served::Everywhere},
        {{"readyz"},
         "/readyz",
         "GET",
         0,
         [](Api& api, const HttpRequest&, const std::string&, const ContextPtr& context) {
             api.readyz(context);
         },
         false,
         Served::Everywhere},
        {{"metrics"},
         "/metrics",
         "GET",
         0,
         [](Api& api, const HttpRequest&, const std::string&, const ContextPtr& context) {
             api.metrics(context);
         },
         false,
         Served::ToOperators},
    };
    return table;
}

bool Api::served_on(const Route& route, Listener listener) const {
    switch (route.served) {
        case Served::ApiOnly:
            return listener == Listener::Api;
        case Served::Everywhere:
            return true;
        case Served::ToOperators:
            return listener == Listener::Operations || config_.metrics_listen_host.empty();
    }
    return false;
}

void Api::route(const HttpRequest& request, const ContextPtr& context) {
    const std::vector<std::string> parts = split_path(request.path);
    const std::string& method = request.method;
    const auto& table = routes();
    // A literal path (/verify/send) wins over a pattern (/verify/{id}) for every method.
    const bool literal_path = std::any_of(table.begin(), table.end(), [&](const Route& route) {
        return route.literal() && route.match(parts);
    });
    std::string allowed;
    for (const Route& route : table) {
        if (literal_path && !route.literal()) continue;
        if (!served_on(route, request.listener)) continue;
        auto id = route.match(parts);
        if (!id) continue;
        context->route = route.label;
        if (method != route.method) {
            if (!allowed.empty()) allowed += ", ";
            allowed += route.method;
            continue;
        }
        if (route.scope != 0) {
            if (auto refused = authenticate(request, route.scope, *context))
                return refuse(context, *refused);
        }
        if (route.idempotent) {
            if (auto key = request.header(kIdempotencyHeader)) {
                if (!is_idempotency_key(*key))
                    return refuse(context,
                                  make_field_error(ErrorCode::InvalidRequest, kIdempotencyHeader,
                                                   "must be 1 to 255 characters of A-Z, a-z, "
                                                   "0-9, _ and -"));
                context->idempotency_key = *key;
                context->fingerprint =
                    request_fingerprint_of(method, request.path, request.query, request.body);
            }
        }
        return route.handler(*this, request, *id, context);
    }
    if (!allowed.empty()) {
        HttpResponse response = context->fail(with_status(
            make_error(ErrorCode::InvalidRequest, "Method " + method + " is not allowed here."),
            405));
        response.headers.emplace_back("Allow", allowed);
        return reply(context, std::move(response));
    }
    refuse(
        context,
        with_status(make_error(ErrorCode::InvalidRequest, "No route " + request.path + "."), 404));
}

void Api::send(const HttpRequest& request, const ContextPtr& context) {
    auto body = parse_json_body(request.body);
    if (body.error) return refuse_final(context, *body.error);
    auto parsed = parse_send_request(body.value, config_);
    if (parsed.error) return refuse_final(context, *parsed.error);
    const SendRequest& send = parsed.value;
    context->caller.sandbox = !context->live_key || send.sandbox;
    const bool sandbox = context->caller.sandbox;

    PhoneCheck phone = phones_.check(send.to);
    if (!phone.ok)
        return refuse_final(context,
                            make_field_error(ErrorCode::InvalidPhone, "to", phone.problem));

    if (!sandbox && config_.provider == ProviderKind::None)
        return refuse(
            context,
            with_retry_after(with_status(make_error(ErrorCode::ProviderError,
                                                    "No delivery provider is configured for live "
                                                    "sends (VERIFYD_PROVIDER)."),
                                         503),
                             30));
    auto tag = tag_for(*context, send.to);
    if (!tag) return refuse(context, number_key_missing());

    const Credentials& credentials = *context->credentials;
    NewVerification created;
    Verification& v = created.verification;
    v.ref = {*tag, random_token(16)};
    const std::string verification_id = make_record_id(kVerificationPrefix, v.ref);
    const std::string code = generate_code(send.code_length);
    v.sandbox = sandbox;
    v.to = send.to;
    v.channel = send.channel;
    v.fallback = send.fallback;
    v.locale = send.locale;
    v.code_length = send.code_length;
    v.max_attempts = config_.max_attempts;
    created.ttl_seconds = send.ttl_seconds;
    created.code_hashes = code_hashes(credentials, verification_id, code);
    v.template_name = send.template_name.empty() ? kDefaultTemplateName : send.template_name;
    if (!send.template_variables.empty()) v.template_variables = send.template_variables.dump();
    // A sandbox code is test data and stays readable; a live code exists only as its
    // hash and, until delivered, sealed for the outbox.
    if (sandbox) {
        v.code = code;
        v.delivery_status = "sandboxed";
    } else {
        created.sealed_code = seal_code(credentials.sealing_key(), verification_id, code);
        v.delivery_status = "queued";
    }

    idempotently(context, [this, context, created](const Idempotency* idempotency) {
        counting(*context).send(
            context->caller, created, idempotency,
            respond_with<Verification>(context, [this](Context& c, const Verification& stored) {
                if (!c.replayed) metrics_.count_send(stored.sandbox, stored.channel);
                return c.ok(201, verification_json(stored, false, config_.app_name));
            }));
    });
}

void Api::check(const HttpRequest& request, const ContextPtr& context) {
    auto body = parse_json_body(request.body);
    if (body.error) return refuse_final(context, *body.error);
    auto parsed = parse_check_request(body.value);
    if (parsed.error) return refuse_final(context, *parsed.error);
    const CheckRequest& check = parsed.value;
    context->caller.sandbox = !context->live_key || check.sandbox;
    if (check.to.empty() && !check.id.empty()) {
        auto ref = parse_record_id(check.id, kVerificationPrefix);
        if (!ref) return refuse_final(context, make_error(ErrorCode::VerificationNotFound));
        return idempotently(context, [this, context, ref = *ref,
                                      code = check.code](const Idempotency* idempotency) {
            check_code(context, ref, code, idempotency);
        });
    }

    PhoneCheck phone = phones_.check(check.to);
    if (!phone.ok)
        return refuse_final(context,
                            make_field_error(ErrorCode::InvalidPhone, "to", phone.problem));
    auto tag = tag_for(*context, check.to);
    if (!tag) return refuse(context, number_key_missing());
    idempotently(
        context, [this, context, tag = *tag, code = check.code](const Idempotency* idempotency) {
            // The key is copied: the lookup answers after this step has returned.
            std::optional<Idempotency> key;
            if (idempotency) key = *idempotency;
            store_.current_verification(tag, [this, context, tag, code,
                                              key](Result<std::string> current) {
                guarded(context, [&] {
                    const Idempotency* idempotency = key ? &*key : nullptr;
                    // With no current verification an idempotent check still asks the
                    // script, which replays a recorded answer or records this 4040.
                    if (current.error &&
                        !(idempotency && current.error->code == ErrorCode::VerificationNotFound))
                        return refuse(context, *current.error);
                    RecordRef ref{tag, ""};
                    if (current.ok()) ref = *parse_record_id(current.value, kVerificationPrefix);
                    check_code(context, ref, code, idempotency);
                });
            });
        });
}

void Api::check_code(const ContextPtr& context, const RecordRef& ref, const std::string& code,
                     const Idempotency* idempotency) {
    const std::string verification_id = make_record_id(kVerificationPrefix, ref);
    counting(*context).check(
        context->caller, ref, code_hashes(*context->credentials, verification_id, code),
        idempotency,
        respond_with<CheckOutcome>(
            context, [verification_id](Context& c, const CheckOutcome& outcome) {
                return c.ok(200, {{"id", verification_id},
                                  {"to", outcome.to},
                                  {"status", outcome.status},
                                  {"verified", outcome.status == "approved"},
                                  {"attempts_remaining", outcome.attempts_remaining}});
            }));
}

std::optional<ApiError> Api::read_mode(const HttpRequest& request, Context& context) {
    auto sandbox = parse_sandbox_query(request.query);
    if (sandbox.error) return sandbox.error;
    context.caller.sandbox = !context.live_key || sandbox.value;
    return std::nullopt;
}

void Api::get_verification(const HttpRequest& request, const std::string& id,
                           const ContextPtr& context) {
    if (auto refused = read_mode(request, *context)) return refuse(context, *refused);
    auto ref = parse_record_id(id, kVerificationPrefix);
    if (!ref) return refuse(context, make_error(ErrorCode::VerificationNotFound));
    counting(*context).get(
        context->caller, *ref, ErrorCode::VerificationNotFound,
        respond_with<Verification>(context, [this](Context& c, const Verification& found) {
            return c.ok(200, verification_json(found, true, config_.app_name));
        }));
}
void Api::cancel(const HttpRequest& request, const std::string& id, const ContextPtr& context) {
    if (auto refused = read_mode(request, *context)) return refuse_final(context, *refused);
    auto ref = parse_record_id(id, kVerificationPrefix);
    if (!ref) return refuse_final(context, make_error(ErrorCode::VerificationNotFound));
    idempotently(context, [this, context, ref = *ref](const Idempotency* idempotency) {
        counting(*context).cancel(
            context->caller, ref, idempotency,
            respond_with<Verification>(context, [this](Context& c, const Verification& canceled) {
                return c.ok(200, verification_json(canceled, true, config_.app_name));
            }));
    });
}

void Api::get_message(const HttpRequest& request, const std::string& id,
                      const ContextPtr& context) {
    if (auto refused = read_mode(request, *context)) return refuse(context, *refused);
    auto ref = parse_record_id(id, kMessagePrefix);
    if (!ref) return refuse(context, make_error(ErrorCode::MessageNotFound));
    counting(*context).get(
        context->caller, *ref, ErrorCode::MessageNotFound,
        respond_with<Verification>(context, [this](Context& c, const Verification& found) {
            return c.ok(200, message_json(found, templates_, config_.app_name));
        }));
}

void Api::list_messages(const HttpRequest& request, const ContextPtr& context) {
    auto query = parse_list_messages_query(request.query);
    if (query.error) return refuse(context, *query.error);
    context->caller.sandbox = !context->live_key || query.value.sandbox;
    PhoneCheck phone = phones_.check(query.value.to);
    if (!phone.ok)
        return refuse(context, make_field_error(ErrorCode::InvalidPhone, "to", phone.problem));
    auto tag = tag_for(*context, query.value.to);
    if (!tag) return refuse(context, number_key_missing());
    counting(*context).list_messages(
        context->caller, *tag, query.value.limit,
        respond_with<std::vector<Verification>>(
            context, [this](Context& c, const std::vector<Verification>& found) {
                json messages = json::array();
                for (const auto& v : found)
                    messages.push_back(message_json(v, templates_, config_.app_name));
                return c.ok(200, {{"messages", messages}});
            }));
}

void Api::metrics(const ContextPtr& context) {
    HttpResponse response;
    response.body = metrics_.render();
    response.content_type = "text/plain; version=0.0.4";
    reply(context, std::move(response));
}

void Api::readyz(const ContextPtr& context) {
    if (draining_) {
        return reply(
            context,
            context->fail(with_retry_after(
                with_status(make_error(ErrorCode::InternalError, "Shutting down."), 503), 1)));
    }
    if (!context->credentials->number_key)
        return reply(context, context->fail(number_key_missing()));
    store_.ping([this, context](Result<bool> answered) {
        guarded(context, [&] {
            if (!answered.value) {
                return reply(
                    context,
                    context->fail(with_retry_after(
                        with_status(make_error(ErrorCode::InternalError, "Redis is not reachable."),
                                    503),
                        1)));
            }
            reply(context, context->ok(200, {{"status", "ready"}}));
        });
    });
}

}  // namespace verifyd
