// The Twilio face's services (§11): POST and GET /v2/Services, GET, POST and DELETE
// /v2/Services/{sid}. A service belongs to the account, whichever of its keys asks.
#include "service/http/handlers.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

using nlohmann::json;

constexpr int kDefaultPageSize = 50;
constexpr int kLargestPageSize = 1000;
// Far beyond any account's services, and small enough that Page × PageSize is exact.
constexpr long long kLastPage = 1000000;

struct PageRequest {
    int size = kDefaultPageSize;
    long long number = 0;
};

// A 4040 of lua/services/ says which service there is not.
ApiError service_error(const ApiError& error, const std::string& sid) {
    if (error.code != ErrorCode::VerificationNotFound) return error;
    return make_error(ErrorCode::VerificationNotFound, "No service " + sid + ".");
}

// PageSize (1–1000, default 50) and Page (0 to 1000000); PageToken, which the page urls carry,
// must be the one they carry for that page.
Result<PageRequest> read_page(const HttpRequest& request) {
    Result<PageRequest> page;
    std::optional<std::string> token;
    for (const auto& [name, value] : request.query) {
        auto number = parse_whole_number(value);
        if (name == "PageSize") {
            if (!number || *number < 1 || *number > kLargestPageSize) {
                page.error = twilio_parameter_error(60200, "PageSize", "must be 1 to 1000");
                return page;
            }
            page.value.size = static_cast<int>(*number);
        } else if (name == "Page") {
            if (!number || *number > kLastPage) {
                page.error = twilio_parameter_error(60200, "Page", "must be 0 to 1000000");
                return page;
            }
            page.value.number = *number;
        } else if (name == "PageToken") {
            token = value;
        }
    }
    if (token && *token != "PT" + std::to_string(page.value.number * page.value.size))
        page.error = twilio_parameter_error(60200, "PageToken", "does not belong to this Page");
    return page;
}

std::string page_url(const std::string& base, const PageRequest& page, long long number) {
    return base + "?PageSize=" + std::to_string(page.size) + "&Page=" + std::to_string(number) +
           "&PageToken=PT" + std::to_string(number * page.size);
}

json services_page(const TwilioServicePage& found, const PageRequest& page,
                   const std::string& account_sid, const std::string& origin) {
    const std::string base = origin + "/v2/Services";
    json services = json::array();
    for (const TwilioService& service : found.services)
        services.push_back(service_resource(service, account_sid, origin));
    const bool more = (page.number + 1) * page.size < found.total;
    return {{"services", services},
            {"meta",
             {{"page", page.number},
              {"page_size", page.size},
              {"first_page_url", base + "?PageSize=" + std::to_string(page.size) + "&Page=0"},
              {"previous_page_url",
               page.number > 0 ? json(page_url(base, page, page.number - 1)) : json(nullptr)},
              {"url", page_url(base, page, page.number)},
              {"next_page_url", more ? json(page_url(base, page, page.number + 1)) : json(nullptr)},
              {"key", "services"}}}};
}

// The resource's answer for a service the store returned.
Then<TwilioService> answer_service(const ExchangePtr& exchange, const HttpRequest& request,
                                   const std::string& sid, int status) {
    const std::string origin = twilio_origin(request);
    return [exchange, origin, sid, status](Result<TwilioService> found) {
        exchange->guarded([&] {
            if (found.error) return exchange->refuse(service_error(*found.error, sid));
            exchange->reply(exchange->resource(
                status, service_resource(found.value, exchange->twilio_account_sid, origin)));
        });
    };
}

// The slot of the caller's services and the service `sid` names, or why not: a sid that
// is no VA sid names no service.
std::optional<ApiError> named_service(const ExchangePtr& exchange, const std::string& sid,
                                      std::string& slot) {
    auto services = services_slot(*exchange);
    if (services.error) return services.error;
    if (!is_twilio_sid(sid, "VA"))
        return service_error(make_error(ErrorCode::VerificationNotFound), sid);
    slot = services.value;
    return std::nullopt;
}

void put_service(const HttpRequest& request, const std::string& sid, bool creating,
                 const ExchangePtr& exchange) {
    std::string slot;
    if (auto refused = named_service(exchange, sid, slot)) return exchange->refuse(*refused);
    auto form = read_twilio_form(request);
    if (form.error) return exchange->refuse(*form.error);
    auto parameters = service_parameters(form.value, creating);
    if (parameters.error) return exchange->refuse(*parameters.error);
    exchange->services.store.put_service(
        slot, sid, creating, parameters.value,
        answer_service(exchange, request, sid, creating ? 201 : 200));
}

}  // namespace

void create_twilio_service(const HttpRequest& request, const std::string&,
                           const ExchangePtr& exchange) {
    put_service(request, new_twilio_sid("VA"), true, exchange);
}

void update_twilio_service(const HttpRequest& request, const std::string& sid,
                           const ExchangePtr& exchange) {
    put_service(request, sid, false, exchange);
}

void get_twilio_service(const HttpRequest& request, const std::string& sid,
                        const ExchangePtr& exchange) {
    std::string slot;
    if (auto refused = named_service(exchange, sid, slot)) return exchange->refuse(*refused);
    exchange->services.store.read_service(slot, sid, answer_service(exchange, request, sid, 200));
}

void delete_twilio_service(const HttpRequest&, const std::string& sid,
                           const ExchangePtr& exchange) {
    std::string slot;
    if (auto refused = named_service(exchange, sid, slot)) return exchange->refuse(*refused);
    exchange->services.store.delete_service(slot, sid, [exchange, sid](Result<bool> deleted) {
        exchange->guarded([&] {
            if (deleted.error) return exchange->refuse(service_error(*deleted.error, sid));
            exchange->reply(exchange->resource(204, nullptr));
        });
    });
}

void list_twilio_services(const HttpRequest& request, const std::string&,
                          const ExchangePtr& exchange) {
    auto slot = services_slot(*exchange);
    if (slot.error) return exchange->refuse(*slot.error);
    auto page = read_page(request);
    if (page.error) return exchange->refuse(*page.error);
    const std::string origin = twilio_origin(request);
    exchange->services.store.list_services(
        slot.value, page.value.number * page.value.size, page.value.size,
        [exchange, origin, page = page.value](Result<TwilioServicePage> found) {
            exchange->guarded([&] {
                if (found.error) return exchange->refuse(*found.error);
                exchange->reply(exchange->resource(
                    200, services_page(found.value, page, exchange->twilio_account_sid, origin)));
            });
        });
}

}  // namespace verifyd
