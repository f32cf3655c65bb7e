// GET /messages/{id} (also /v3/messages/{id}) and GET /messages?to= (§4): a
// verification's message, and a number's messages newest first, which is how an
// end-to-end test reads the code it was sent.
#include "service/http/handlers.hpp"
#include "service/http/views.hpp"
#include "verifyd/requests.hpp"

namespace verifyd {

void get_message(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange) {
    if (auto refused = read_query_mode(request, *exchange)) return exchange->refuse(*refused);
    auto ref = record_ref_of(id, kMessagePrefix);
    if (ref.error) return exchange->refuse(*ref.error);
    exchange->counting().get(
        exchange->caller, ref.value, ErrorCode::MessageNotFound,
        exchange->respond_with<Verification>([](Exchange& x, const Verification& found) {
            return x.ok(200,
                        message_json(found, x.services.templates, x.services.settings.app_name));
        }));
}

void list_messages(const HttpRequest& request, const std::string&, const ExchangePtr& exchange) {
    auto query = parse_list_messages_query(request.query);
    if (query.error) return exchange->refuse(*query.error);
    exchange->caller.sandbox = !exchange->live_key || query.value.sandbox;
    auto tag = exchange->tag_of_number(query.value.to);
    if (tag.error) return exchange->refuse(*tag.error);
    exchange->counting().list_messages(
        exchange->caller, tag.value, query.value.limit,
        exchange->respond_with<std::vector<Verification>>(
            [](Exchange& x, const std::vector<Verification>& found) {
                nlohmann::json messages = nlohmann::json::array();
                for (const auto& v : found)
                    messages.push_back(
                        message_json(v, x.services.templates, x.services.settings.app_name));
                return x.ok(200, {{"messages", messages}});
            }));
}

}  // namespace verifyd
