// Fuzz target: the body of POST /verify/check (parse_json_body, parse_check_request),
// and the contract's rules for an accepted one: exactly one of id and to, and a code of
// 4 to 10 digits.
#include <cstdint>
#include <regex>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/requests.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::regex code_pattern("[0-9]{4,10}");

    verifyd::HttpRequest request;
    request.body = verifyd_fuzz::text_of(data, size);
    const auto body = verifyd::parse_json_body(request);
    if (body.error) {
        require(body.error->code == verifyd::ErrorCode::InvalidRequest, "a refused body is 4000");
        return 0;
    }
    const auto parsed = verifyd::parse_check_request(body.value);
    if (parsed.error) {
        require(parsed.error->code == verifyd::ErrorCode::InvalidRequest &&
                    parsed.error->http_status == 400 && !parsed.error->details.empty(),
                "a refused check is 400 / 4000 with details");
        return 0;
    }
    require(body.value.contains("id") != body.value.contains("to"), "exactly one of id and to");
    require(std::regex_match(parsed.value.code, code_pattern), "the code is 4 to 10 digits");
    return 0;
}
