// The handlers of the API's routes, one file each under handlers/, and what several of
// them share. A handler validates the request (requests.hpp), asks the store, and ends
// its exchange exactly once: with reply, refuse or a store call's respond_with.
// Not for: routing, authentication or the Idempotency-Key's format (router.cpp).
#pragma once

#include <optional>
#include <string>

#include "service/http/exchange.hpp"

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
void healthz(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void readyz(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);
void metrics(const HttpRequest& request, const std::string& id, const ExchangePtr& exchange);

// The mode a request naming a record by id asks for with `?sandbox=true`, set on the
// caller; or the query's problem.
std::optional<ApiError> read_query_mode(const HttpRequest& request, Exchange& exchange);
// The record an id of that prefix names; an id that is not one is unknown (4040 for a
// verification, 4044 for a message).
Result<RecordRef> record_ref_of(const std::string& id, const char* prefix);
// The code hashed under each hash key in use, so that it checks whichever key a
// replica checks it with during a rotation.
std::string code_hashes(const Credentials& credentials, const std::string& verification_id,
                        const std::string& code);

}  // namespace verifyd
