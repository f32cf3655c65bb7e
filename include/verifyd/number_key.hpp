// The number key: the key of every number tag (crypto.hpp number_tag), one per
// deployment and never rotated, so that a hash key rotation keeps every number's limits,
// cooldown and current verification. It lives in Redis only sealed, once per hash key
// that has served (field = key_id of that hash key), so that a replica needs one of its
// own hash keys to read it. The first replica to start on an empty Redis creates it from
// its hash key, which is what number tags were keyed with before the number key existed.
// Not for: code hashes, which rotate with the hash key.
#pragma once

#include <optional>
#include <string>

#include "verifyd/credentials.hpp"
#include "verifyd/errors.hpp"
#include "verifyd/redis_keys.hpp"

namespace verifyd {

class Store;

// Reads the number key with the current or the previous hash key (creating it on an
// empty Redis), and stores it sealed under the current hash key when it is not yet.
// Blocks on this thread's Redis connection. An error when Redis cannot be reached, or
// when it holds a number key that none of the hash keys opens (the message says what to
// do).
// The number key of `credentials`, if any, is the one it writes back to a Redis that
// has none.
Result<HashKey> load_number_key(Store& store, const Credentials& credentials);

// load_number_key for the credentials in use: the first key read is installed in them;
// a different one read later is logged and ignored. Whether a number key is in use.
bool refresh_number_key(Store& store, CredentialStore& credentials);

// refresh_number_key before verifyd listens, its read tried again for about a second and
// a half while Redis does not answer: a Redis that is up but slow to (loading, a busy
// machine) then serves from the first request. Whether a number key is in use.
bool read_number_key_at_start(Store& store, CredentialStore& credentials);

}  // namespace verifyd
