// The Idempotency-Key of send, check and cancel (§9), the parts that need no Redis: the
// key's format, the request's fingerprint, the key's name in Redis, and the encoding of
// an answer that verifyd reached before any state change. Not for: the claim and the
// record, which the store's scripts keep (lua/idempotency/claim.lua,
// lua/lib/idempotency.lua), or the order of the steps, which is the API's.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "verifyd/caller.hpp"
#include "verifyd/config.hpp"
#include "verifyd/errors.hpp"

namespace verifyd {

// A state change made at most once per Idempotency-Key (lua/lib/idempotency.lua).
struct Idempotency {
    std::string name;         // keyed hash of account, mode, endpoint and key
    std::string fingerprint;  // of the request: method, path, query and body as parsed
    bool follow = false;      // another request holds the key's claim: only replay
    int ttl_seconds = 0;
};

// What the claim of an Idempotency-Key says to do (lua/idempotency/claim.lua).
struct IdempotencyClaim {
    enum class Next { Run, Follow, Replay } next = Next::Run;
    std::string answer;  // Replay: the JSON answer recorded without a state change
};

constexpr const char* kIdempotencyHeader = "Idempotency-Key";
constexpr const char* kReplayedHeader = "Idempotent-Replayed";

// 1–255 characters of [A-Za-z0-9_-].
bool is_idempotency_key(const std::string& key);

// What makes two requests the same request: method, path, query and the body as parsed
// (so that white space and key order do not matter); the raw body when it is not JSON.
std::string request_fingerprint_of(const std::string& method, const std::string& path,
                                   const std::vector<std::pair<std::string, std::string>>& query,
                                   const std::string& body);

// The key of `caller` (its account and mode) at `endpoint`, ready for the store.
Idempotency make_idempotency(const HashKey& number_key, const Caller& caller,
                             const std::string& endpoint, const std::string& key,
                             std::string fingerprint, int ttl_seconds);

// Whether an answer is final and so kept for replay: every 4xx but 4029 and 4009.
bool is_recorded_refusal(const ApiError& error);

// A refusal as kept in Redis, and back; nothing when the text is not one.
std::string encode_refusal(const ApiError& error);
std::optional<ApiError> decode_refusal(const std::string& text);

}  // namespace verifyd
