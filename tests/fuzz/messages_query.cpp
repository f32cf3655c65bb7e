// Fuzz target: the query string of GET /messages, split into name=value pairs at '&'
// and the first '=' as the HTTP server hands them over, through
// parse_list_messages_query; an accepted query has a limit of 1 to 100.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "verifyd/requests.hpp"
#include "verifyd/text.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::pair<std::string, std::string>> query;
    for (const std::string& part : verifyd::split(verifyd_fuzz::text_of(data, size), '&')) {
        const size_t equals = part.find('=');
        if (equals == std::string::npos) {
            query.emplace_back(part, "");
        } else {
            query.emplace_back(part.substr(0, equals), part.substr(equals + 1));
        }
    }
    const auto parsed = verifyd::parse_list_messages_query(query);
    if (parsed.error) {
        require(parsed.error->code == verifyd::ErrorCode::InvalidRequest &&
                    !parsed.error->details.empty(),
                "a refused query is 4000 with details");
        return 0;
    }
    require(parsed.value.limit >= 1 && parsed.value.limit <= 100, "limit is 1 to 100");
    return 0;
}
