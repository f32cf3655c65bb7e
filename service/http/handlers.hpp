// The handlers of the API's routes, one file each under handlers/, and what several of
// them share. A handler validates the request (requests.hpp), asks the store, and ends
// its exchange exactly once: with reply, refuse or a store call's respond_with.
// Not for: routing, authentication or the Idempotency-Key's format (router.cpp).
#pragma once

#include <optional>
#include <string>

#include "service/http/exchange.hpp"
#include "verifyd/requests.hpp"
#include "verifyd/twilio.hpp"

namespace verifyd {

// `id` is the path's {id} segment, empty for a route without one.
using RouteHandler = void (*)(const HttpRequest& request, const std::string& id,
                              const ExchangePtr& exchange);

void send_verification(const HttpRequest& request, const std::string& id,
                       const ExchangePtr& exchange);
void check_verification(const HttpRequest& request, const std::string& id,
                        const ExchangePtr& exchange);
void get_verification(const HttpRequest& request, const std::string& id,
                      const ExchangePtr& exchange);
void cancel_verification(const HttpRequest& request, const std::string& id,
                         const ExchangePtr& exchange);
void get_message(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void list_messages(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void sent_receipt(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void delivery_receipt(const HttpRequest& request, const std::string& id,
                      const ExchangePtr& exchange);
// A send whose request is read, with the caller's mode set (handlers/send.cpp): the
// destination policy, the fraud guard and the client limits, then the store creates
// it; `answer` gets the created (or replayed) verification, or the refusal. Shared by
// POST /verify/send and the Twilio face.
void send_parsed(const ExchangePtr& exchange, const SendRequest& send, Then<Verification> answer);
// A code against verification `ref` (handlers/check.cpp), or against the current
// verification of the number `tag` (with the Idempotency-Key claimed here); the outcome
// is counted in the metrics and, when approved, by the fraud guard, then `answer` gets it.
// Shared by POST /verify/check and the Twilio face.
void check_code(const ExchangePtr& exchange, const RecordRef& ref, const std::string& code,
                const Idempotency* idempotency, const TwilioScope& scope,
                Then<CheckOutcome> answer);
void check_current(const ExchangePtr& exchange, const std::string& tag, const std::string& code,
                   const TwilioScope& scope, Then<CheckOutcome> answer);
// The fraud guard's administration (handlers/fraud.cpp).
void list_fraud_blocks(const HttpRequest& request, const std::string& id,
                       const ExchangePtr& exchange);
void lift_fraud_block(const HttpRequest& request, const std::string& id,
                      const ExchangePtr& exchange);
void put_safe_number(const HttpRequest& request, const std::string& id,
                     const ExchangePtr& exchange);
void get_safe_number(const HttpRequest& request, const std::string& id,
                     const ExchangePtr& exchange);
void delete_safe_number(const HttpRequest& request, const std::string& id,
                        const ExchangePtr& exchange);
// The Twilio face's services (handlers/twilio_services.cpp, §11).
void create_twilio_service(const HttpRequest& request, const std::string& id,
                           const ExchangePtr& exchange);
void list_twilio_services(const HttpRequest& request, const std::string& id,
                          const ExchangePtr& exchange);
void get_twilio_service(const HttpRequest& request, const std::string& id,
                        const ExchangePtr& exchange);
void update_twilio_service(const HttpRequest& request, const std::string& id,
                           const ExchangePtr& exchange);
void delete_twilio_service(const HttpRequest& request, const std::string& id,
                           const ExchangePtr& exchange);
// The Twilio face's verifications (handlers/twilio_verifications.cpp, §11); `id` is
// "VA…" or "VA…/<VE sid or number>".
void create_twilio_verification(const HttpRequest& request, const std::string& id,
                                const ExchangePtr& exchange);
void get_twilio_verification(const HttpRequest& request, const std::string& id,
                             const ExchangePtr& exchange);
void update_twilio_verification(const HttpRequest& request, const std::string& id,
                                const ExchangePtr& exchange);
void check_twilio_verification(const HttpRequest& request, const std::string& id,
                               const ExchangePtr& exchange);
// The sandbox inbox page and its files (handlers/sandbox.cpp, §13); no authentication:
// the page asks for a test key and sends it only to GET /messages.
void sandbox_page(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
// The slot tag of the caller's account's sandbox inbox (store.hpp put_inbox; 503 until
// the number key is known).
Result<std::string> inbox_slot(const Exchange& exchange);
// The OpenAPI 3.1 document of the API (handlers/openapi.cpp, §13); no authentication.
void openapi_json(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void healthz(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void readyz(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void metrics(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);

// The mode a request naming a record by id asks for with `?sandbox=true`, set on the
// caller; or the query's problem.
std::optional<ApiError> read_query_mode(const HttpRequest& request, Exchange& exchange);
// The record an id of that prefix names; an id that is not one is unknown (4040 for a
// verification, 4044 for a message).
Result<RecordRef> record_ref_of(const std::string& id, const char* prefix);
// The Twilio face (handlers/twilio.cpp): a request's form body (413 over 16 KiB, 60200
// for another Content-Type or a malformed form); "http(s)://host" of the request, for the
// resources' urls (https when X-Forwarded-Proto says so); the slot tag of the caller's
// account's services (503 until the number key is known).
Result<TwilioForm> read_twilio_form(const HttpRequest& request);
std::string twilio_origin(const HttpRequest& request);
Result<std::string> services_slot(const Exchange& exchange);
// The code hashed under each hash key in use, so that it checks whichever key a
// replica checks it with during a rotation.
std::string code_hashes(const Credentials& credentials, const std::string& verification_id,
                        const std::string& code);

}  // namespace verifyd
