// GET /sandbox and its files (§13): the sandbox inbox page, built into the binary, sent
// with a Content-Security-Policy that allows nothing but its own script, style and
// requests to this origin, and never inside a frame. 404 when VERIFYD_SANDBOX_UI=off.
// Also inbox_slot, the tag of an account's inbox, which send.cpp and messages.cpp share.
#include "service/http/handlers.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/sandbox_page.hpp"

namespace verifyd {

void sandbox_page(const HttpRequest& request, const std::string& file,
                  const ExchangePtr& exchange) {
    auto asset = exchange->services.settings.sandbox_ui
                     ? sandbox_asset(file.empty() ? "index.html" : file)
                     : std::nullopt;
    if (!asset)
        return exchange->refuse(with_status(
            make_error(ErrorCode::InvalidRequest, "No route " + request.path + "."), 404));
    HttpResponse response;
    response.body = std::string(asset->body);
    response.content_type = asset->content_type;
    response.headers = {
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
         "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
        {"X-Frame-Options", "DENY"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-cache"},
    };
    exchange->reply(std::move(response));
}

Result<std::string> inbox_slot(const Exchange& exchange) {
    const auto& number_key = exchange.credentials->number_key;
    if (!number_key) return {number_key_missing()};
    return {std::nullopt,
            name_tag(*number_key, "verifyd sandbox inbox", {exchange.caller.account})};
}

}  // namespace verifyd
