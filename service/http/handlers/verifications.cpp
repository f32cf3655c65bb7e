// GET /verify/{id} and POST /verify/{id}/cancel (§4): one verification by id, in the
// mode the query asks for; an id of the other mode is unknown.
#include "service/http/handlers.hpp"
#include "service/http/views.hpp"

namespace verifyd {

void get_verification(const HttpRequest& request, const std::string& id,
                      const ExchangePtr& exchange) {
    if (auto refused = read_query_mode(request, *exchange)) return exchange->refuse(*refused);
    auto ref = record_ref_of(id, kVerificationPrefix);
    if (ref.error) return exchange->refuse(*ref.error);
    exchange->counting().get(
        exchange->caller, ref.value, ErrorCode::VerificationNotFound,
        exchange->respond_with<Verification>([](Exchange& x, const Verification& found) {
            return x.ok(200, verification_json(found, true, x.services.settings.app_name));
        }));
}

void cancel_verification(const HttpRequest& request, const std::string& id,
                         const ExchangePtr& exchange) {
    if (auto refused = read_query_mode(request, *exchange)) return exchange->refuse_final(*refused);
    auto ref = record_ref_of(id, kVerificationPrefix);
    if (ref.error) return exchange->refuse_final(*ref.error);
    exchange->idempotently([exchange, ref = ref.value](const Idempotency* idempotency) {
        exchange->counting().cancel(
            exchange->caller, ref, idempotency, {},
            exchange->respond_with<Verification>([](Exchange& x, const Verification& canceled) {
                return x.ok(200, verification_json(canceled, true, x.services.settings.app_name));
            }));
    });
}

}  // namespace verifyd
