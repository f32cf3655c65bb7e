// The API's front (api.hpp): the route table, and a request's way to its handler
// (which listener serves the route, 404 and 405, authentication, the Idempotency-Key's
// format). To add a route: a handler in handlers/ declared in handlers.hpp, and a row
// here.
#include <algorithm>
#include <string_view>

#include "service/http/authentication.hpp"
#include "service/http/exchange.hpp"
#include "service/http/handlers.hpp"

namespace verifyd {
namespace {

// Where a route is served: the operations listener (VERIFYD_METRICS_LISTEN) serves
// health and metrics only; once it exists, the API listener no longer serves /metrics,
// whose numbers are the operator's business.
enum class Served {
    ApiOnly,
    Everywhere,
    ToOperators,  // on the operations listener, or on the API listener when there is none
};

struct Route {
    // Path segments; "*" is one non-empty {id} segment. A route with several has them
    // joined by '/' in its id (none of them can hold one).
    std::vector<std::string> pattern;
    const char* label;  // for metrics and the access log
    const char* method;
    unsigned scope;  // 0 = no authentication
    RouteHandler handler;
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
                id += (id.empty() ? "" : "/") + parts[i];
            } else if (parts[i] != pattern[i]) {
                return std::nullopt;
            }
        }
        return id;
    }
};

const std::vector<Route>& routes() {
    static const std::vector<Route> table = {
        {{"verify", "send"}, "/verify/send", "POST", kScopeSend, send_verification, true},
        {{"verify", "check"}, "/verify/check", "POST", kScopeCheck, check_verification, true},
        {{"verify", "*"}, "/verify/{id}", "GET", kScopeRead, get_verification},
        {{"verify", "*", "cancel"},
         "/verify/{id}/cancel",
         "POST",
         kScopeSend,
         cancel_verification,
         true},
        {{"messages"}, "/messages", "GET", kScopeRead, list_messages},
        {{"messages", "*"}, "/messages/{id}", "GET", kScopeRead, get_message},
        {{"v3", "messages", "*"}, "/v3/messages/{id}", "GET", kScopeRead, get_message},
        {{"fraud", "blocks"}, "/fraud/blocks", "GET", kScopeAdmin, list_fraud_blocks},
        {{"fraud", "blocks", "*"},
         "/fraud/blocks/{target}",
         "DELETE",
         kScopeAdmin,
         lift_fraud_block},
        {{"safe-list", "*"}, "/safe-list/{number}", "PUT", kScopeAdmin, put_safe_number},
        {{"safe-list", "*"}, "/safe-list/{number}", "GET", kScopeAdmin, get_safe_number},
        {{"safe-list", "*"}, "/safe-list/{number}", "DELETE", kScopeAdmin, delete_safe_number},
        {{"v2", "Services"}, "/v2/Services", "POST", kScopeSend, create_twilio_service},
        {{"v2", "Services"}, "/v2/Services", "GET", kScopeRead, list_twilio_services},
        {{"v2", "Services", "*"}, "/v2/Services/{sid}", "GET", kScopeRead, get_twilio_service},
        {{"v2", "Services", "*"}, "/v2/Services/{sid}", "POST", kScopeSend, update_twilio_service},
        {{"v2", "Services", "*"},
         "/v2/Services/{sid}",
         "DELETE",
         kScopeSend,
         delete_twilio_service},
        {{"v2", "Services", "*", "Verifications"},
         "/v2/Services/{sid}/Verifications",
         "POST",
         kScopeSend,
         create_twilio_verification,
         true},
        {{"v2", "Services", "*", "Verifications", "*"},
         "/v2/Services/{sid}/Verifications/{sid}",
         "GET",
         kScopeRead,
         get_twilio_verification},
        {{"v2", "Services", "*", "Verifications", "*"},
         "/v2/Services/{sid}/Verifications/{sid}",
         "POST",
         kScopeSend,
         update_twilio_verification},
        {{"v2", "Services", "*", "VerificationCheck"},
         "/v2/Services/{sid}/VerificationCheck",
         "POST",
         kScopeCheck,
         check_twilio_verification,
         true},
        {{"sandbox"}, "/sandbox", "GET", 0, sandbox_page},
        {{"sandbox", "*"}, "/sandbox/{file}", "GET", 0, sandbox_page},
        {{"openapi.json"}, "/openapi.json", "GET", 0, openapi_json},
        {{"webhooks", "sent"}, "/webhooks/sent", "POST", 0, sent_receipt},
        {{"webhooks", "delivery"}, "/webhooks/delivery", "POST", 0, delivery_receipt},
        {{"healthz"}, "/healthz", "GET", 0, healthz, false, Served::Everywhere},
        {{"readyz"}, "/readyz", "GET", 0, readyz, false, Served::Everywhere},
        {{"metrics"}, "/metrics", "GET", 0, metrics, false, Served::ToOperators},
    };
    return table;
}

bool served_on(const Route& route, Listener listener, const ApiSettings& settings) {
    switch (route.served) {
        case Served::ApiOnly:
            return listener == Listener::Api;
        case Served::Everywhere:
            return true;
        case Served::ToOperators:
            return listener == Listener::Operations || !settings.operations_listener;
    }
    return false;
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

// Takes the request's Idempotency-Key, if it has one; its problem if it is malformed.
std::optional<ApiError> take_idempotency_key(const HttpRequest& request, Exchange& exchange) {
    auto key = request.header(kIdempotencyHeader);
    if (!key) return std::nullopt;
    if (!is_idempotency_key(*key))
        return make_field_error(ErrorCode::InvalidRequest, kIdempotencyHeader,
                                "must be 1 to 255 characters of A-Z, a-z, 0-9, _ and -");
    exchange.idempotency_key = *key;
    exchange.fingerprint =
        request_fingerprint_of(request.method, request.path, request.query, request.body);
    return std::nullopt;
}

// HEAD is answered as GET would be; the HTTP server leaves the body out (RFC 9110 §9.3.2).
bool answers_head(const Route& route) {
    return std::string_view(route.method) == "GET";
}

bool takes(const Route& route, const std::string& method) {
    return method == route.method || (method == "HEAD" && answers_head(route));
}

void route(const HttpRequest& request, const ExchangePtr& exchange) {
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
        if (!served_on(route, request.listener, exchange->services.settings)) continue;
        auto id = route.match(parts);
        if (!id) continue;
        exchange->route = route.label;
        if (!takes(route, method)) {
            if (!allowed.empty()) allowed += ", ";
            allowed += route.method;
            if (answers_head(route)) allowed += ", HEAD";
            continue;
        }
        if (route.scope != 0) {
            if (auto refused = authenticate(request, route.scope, *exchange))
                return exchange->refuse(*refused);
        }
        if (route.idempotent) {
            if (auto refused = take_idempotency_key(request, *exchange))
                return exchange->refuse(*refused);
        }
        return route.handler(request, *id, exchange);
    }
    if (!allowed.empty()) {
        HttpResponse response = exchange->fail(with_status(
            make_error(ErrorCode::InvalidRequest, "Method " + method + " is not allowed here."),
            405));
        response.headers.emplace_back("Allow", allowed);
        return exchange->reply(std::move(response));
    }
    exchange->refuse(
        with_status(make_error(ErrorCode::InvalidRequest, "No route " + request.path + "."), 404));
}

}  // namespace

Api::Api(const ApiSettings& settings, const CredentialStore& credentials, Store& store,
         const Templates& templates, Metrics& metrics)
    : services_(std::make_unique<ApiServices>(settings, credentials, store, templates, metrics)) {}

Api::~Api() = default;

void Api::start_draining() {
    services_->draining = true;
}

bool Api::draining() const {
    return services_->draining;
}

int Api::in_flight() const {
    return services_->in_flight;
}

void Api::handle(const HttpRequest& request, Respond respond) {
    auto exchange = std::make_shared<Exchange>(*services_, request, std::move(respond));
    exchange->guarded([&] { route(request, exchange); });
}

HttpResponse Api::refuse_unreadable(int status, const std::string& problem) {
    HttpRequest unread;
    HttpResponse answer;
    auto exchange = std::make_shared<Exchange>(
        *services_, unread, [&answer](HttpResponse response) { answer = std::move(response); });
    exchange->route = "unreadable";
    exchange->refuse(with_status(make_error(ErrorCode::InvalidRequest, problem), status));
    return answer;
}

}  // namespace verifyd
