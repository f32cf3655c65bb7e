// GET /messages/{id} (also /v3/messages/{id}) and GET /messages?to= (§4): a
// verification's message, and a number's messages newest first, which is how an
// end-to-end test reads the code it was sent; in sandbox mode without `to`, the account's
// newest sandbox messages (its inbox, §13), which the sandbox page shows.
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

namespace {

Then<std::vector<Verification>> answer_messages(const ExchangePtr& exchange) {
    return exchange->respond_with<std::vector<Verification>>(
        [](Exchange& x, const std::vector<Verification>& found) {
            nlohmann::json messages = nlohmann::json::array();
            for (const auto& v : found)
                messages.push_back(
                    message_json(v, x.services.templates, x.services.settings.app_name));
            return x.ok(200, {{"messages", messages}});
        });
}

// The account's inbox: its newest sandbox messages, or those after `since`.
void list_inbox(const ListMessagesQuery& query, const ExchangePtr& exchange) {
    if (!exchange->caller.sandbox)
        return exchange->refuse(
            make_field_error(ErrorCode::InvalidRequest, "to",
                             "is required: only sandbox messages are listed for a whole account"));
    RecordRef after;
    if (!query.since.empty()) {
        auto since = parse_record_id(query.since, kMessagePrefix);
        if (!since)
            return exchange->refuse(
                make_field_error(ErrorCode::InvalidRequest, "since", "must be a message id"));
        after = *since;
    }
    auto slot = inbox_slot(*exchange);
    if (slot.error) return exchange->refuse(*slot.error);
    exchange->services.store.read_inbox(exchange->caller, slot.value, after, query.limit,
                                        answer_messages(exchange));
}

}  // namespace

void list_messages(const HttpRequest& request, const std::string&, const ExchangePtr& exchange) {
    auto query = parse_list_messages_query(request.query);
    if (query.error) return exchange->refuse(*query.error);
    exchange->caller.sandbox = !exchange->live_key || query.value.sandbox;
    if (query.value.to.empty()) return list_inbox(query.value, exchange);
    auto tag = exchange->tag_of_number(query.value.to);
    if (tag.error) return exchange->refuse(*tag.error);
    exchange->counting().list_messages(exchange->caller, tag.value, query.value.limit,
                                       answer_messages(exchange));
}

}  // namespace verifyd
