// Randomness and hashing for codes, ids and keys, all from libsodium. This is the only
// file that touches key material; it never logs or formats a secret.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "verifyd/config.hpp"

namespace verifyd {

// Must run once before any other function here; safe to call again.
void init_crypto();

// `length` uniformly random decimal digits (leading zeros allowed).
std::string generate_code(int length);

// The keyed BLAKE2b-128 of a verification's code, bound to its id: 16 raw bytes. A code
// has at most 10^10 values, so guessing goes through the API's attempt limit, not the
// hash; 16 bytes keep a pending verification small in Redis.
std::string code_hash(const HashKey& key, std::string_view verification_id, std::string_view code);

// A keyed hash of (account, mode, number): the Redis hash tag of everything about that
// number in one mode, so no phone number appears in a key name and sandbox and live never
// share a key. `key` is the deployment's number key (number_key.hpp), which outlives
// hash key rotations. URL-safe, 22 characters.
std::string number_tag(const HashKey& key, std::string_view account, bool sandbox,
                       std::string_view number);

// A keyed hash of any other request-derived name that must not appear in a key (an
// Idempotency-Key): URL-safe, 22 characters.
std::string name_tag(const HashKey& key, std::string_view purpose,
                     std::initializer_list<std::string_view> fields);

// Who a key is, without revealing it: 16 hex characters of its unkeyed hash.
std::string key_id(const HashKey& key);

// The number key sealed with (a key derived from) a hash key, for Redis; and opened.
std::string seal_number_key(const HashKey& hash_key, const HashKey& number_key);
std::optional<HashKey> open_number_key(const HashKey& hash_key, std::string_view sealed);

std::string random_bytes(size_t count);

// `bytes` random bytes, base64url without padding: unique and unguessable, for
// identifiers (drawn from a per-thread buffer, so not for secrets).
std::string random_token(size_t bytes);

// Standard base64 (with or without padding) decoded; nothing when it is not base64.
std::optional<std::string> decode_base64(std::string_view text);

// `length` random characters of [A-Za-z0-9].
std::string random_alphanumeric(size_t length);

// Unkeyed BLAKE2b-256 of an API key, lowercase hex (the keys file's `hash`).
std::string api_key_hash(std::string_view key);

// The key that seals codes for delivery, derived from the hash key (crypto_kdf) when
// VERIFYD_SEAL_KEY is not set, so that the two keys are never the same.
HashKey derive_seal_key(const HashKey& hash_key);

// The fingerprint of a request for idempotent replay: 16 raw bytes, unkeyed.
std::string request_fingerprint(std::string_view text);

// A live code sealed for the outbox with XChaCha20-Poly1305, bound to its verification
// id as associated data: nonce then ciphertext, raw bytes.
std::string seal_code(const HashKey& seal_key, std::string_view verification_id,
                      std::string_view code);
// The code, or nothing when the box was not sealed with this key for this id.
std::optional<std::string> open_code(const HashKey& seal_key, std::string_view verification_id,
                                     std::string_view sealed);

std::string to_hex(std::string_view bytes);
// Exactly `size` bytes from 2 × size hex digits (either case); nothing for anything else.
std::optional<std::string> from_hex(std::string_view hex, size_t size);

// Compares in time that depends only on the lengths.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace verifyd
