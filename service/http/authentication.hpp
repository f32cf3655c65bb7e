// Who is asking (§3): the API key of `Authorization: Bearer` or `x-api-key` (for the
// Twilio face, §11: HTTP Basic, the account SID and a key), checked against the keys
// file's current snapshot, and whether its scopes allow the route.
// Not for: per-key request limits (the store counts them).
#pragma once

#include <optional>

#include "service/http/exchange.hpp"

namespace verifyd {

// Sets the exchange's caller when the key is good and has `scope`; else the refusal
// (4010–4013).
std::optional<ApiError> authenticate(const HttpRequest& request, unsigned scope,
                                     Exchange& exchange);

}  // namespace verifyd
