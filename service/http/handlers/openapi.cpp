// GET /openapi.json (§13): the OpenAPI 3.1 document of every route, built into the binary,
// with no authentication, so that a developer or a client generator reads the contract
// from the verifyd it talks to. Not for: the document's content (docs/openapi.json).
#include "service/http/handlers.hpp"
#include "verifyd/openapi_document.hpp"

namespace verifyd {

void openapi_json(const HttpRequest&, const std::string&, const ExchangePtr& exchange) {
    HttpResponse response;
    response.body = std::string(openapi_document());
    response.content_type = "application/json";
    exchange->reply(std::move(response));
}

}  // namespace verifyd
