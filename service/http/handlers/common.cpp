// What several handlers share (handlers.hpp).
#include <cstring>

#include "service/http/handlers.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/requests.hpp"

namespace verifyd {

std::optional<ApiError> read_query_mode(const HttpRequest& request, Exchange& exchange) {
    auto sandbox = parse_sandbox_query(request.query);
    if (sandbox.error) return sandbox.error;
    exchange.caller.sandbox = !exchange.live_key || sandbox.value;
    return std::nullopt;
}

Result<RecordRef> record_ref_of(const std::string& id, const char* prefix) {
    auto ref = parse_record_id(id, prefix);
    if (ref) return {std::nullopt, *ref};
    const bool message = std::strcmp(prefix, kMessagePrefix) == 0;
    return {make_error(message ? ErrorCode::MessageNotFound : ErrorCode::VerificationNotFound)};
}

std::string code_hashes(const Credentials& credentials, const std::string& verification_id,
                        const std::string& code) {
    std::string hashes;
    for (const HashKey* key : credentials.code_keys())
        hashes += code_hash(*key, verification_id, code);
    return hashes;
}

}  // namespace verifyd
