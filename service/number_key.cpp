// Reading, creating and re-sealing the number key in Redis with plain hash commands:
// HSETNX makes the first creator win, and every later step only adds fields.
#include "verifyd/number_key.hpp"

#include <hiredis/hiredis.h>

#include <chrono>
#include <thread>

#include "verifyd/crypto.hpp"
#include "verifyd/log.hpp"
#include "verifyd/store.hpp"

namespace verifyd {
namespace {

std::optional<std::string> string_element(const redisReply* reply, size_t index) {
    if (reply->type != REDIS_REPLY_ARRAY || index >= reply->elements) return std::nullopt;
    const redisReply* element = reply->element[index];
    if (element->type != REDIS_REPLY_STRING) return std::nullopt;
    return reply_string(element);
}

ApiError unreadable(const std::string& why) {
    return make_error(ErrorCode::InternalError,
                      "The number key in Redis (" + std::string(kNumberKeyKey) + ") " + why);
}

}  // namespace

Result<HashKey> load_number_key(Store& store, const Credentials& credentials) {
    const std::string current_id = key_id(credentials.hash_key);
    const HashKey* previous =
        credentials.previous_hash_key ? &*credentials.previous_hash_key : nullptr;
    // Two rounds at most: a creator that loses the race reads the winner's key.
    for (int round = 0; round < 2; ++round) {
        auto stored = store.command(
            {"HMGET", kNumberKeyKey, current_id, previous ? key_id(*previous) : current_id});
        if (stored.error) return {stored.error, {}};
        if (auto sealed = string_element(stored.value.get(), 0)) {
            auto key = open_number_key(credentials.hash_key, *sealed);
            if (!key) return {unreadable("does not open with VERIFYD_HASH_KEY"), {}};
            return {std::nullopt, *key};
        }
        if (auto sealed = string_element(stored.value.get(), 1); sealed && previous) {
            auto key = open_number_key(*previous, *sealed);
            if (!key) return {unreadable("does not open with VERIFYD_HASH_KEY_PREVIOUS_FILE"), {}};
            auto resealed = store.command(
                {"HSETNX", kNumberKeyKey, current_id, seal_number_key(credentials.hash_key, *key)});
            if (resealed.error) return {resealed.error, {}};
            return {std::nullopt, *key};
        }
        auto fields = store.command({"HLEN", kNumberKeyKey});
        if (fields.error) return {fields.error, {}};
        if (reply_integer(fields.value.get()) > 0)
            return {unreadable("was sealed by other hash keys: set VERIFYD_HASH_KEY_PREVIOUS_FILE "
                               "to the key this deployment served with before"),
                    {}};
        // A Redis that lost the key (restarted empty) gets back the one this process
        // serves with, so that replicas keep agreeing.
        const HashKey& number_key = credentials.number_key.value_or(credentials.hash_key);
        auto created = store.command({"HSETNX", kNumberKeyKey, current_id,
                                      seal_number_key(credentials.hash_key, number_key)});
        if (created.error) return {created.error, {}};
    }
    return {unreadable("could not be created"), {}};
}

namespace {

// Installs the number key `loaded` from Redis in the credentials in use, unless they have
// one already. Whether a number key is in use.
bool install_number_key(const Result<HashKey>& loaded, CredentialStore& credentials) {
    auto current = credentials.current();
    if (loaded.error) {
        // Redis being away is reported by every request; a key that does not open is not.
        if (loaded.error->http_status != 503 || !current->number_key)
            log_event(LogLevel::Warn, "number key not read", {{"error", loaded.error->message}});
        return current->number_key.has_value();
    }
    if (current->number_key == loaded.value) return true;
    if (current->number_key) {
        // Switching would move every number to new tags: keep serving with the old.
        log_event(LogLevel::Error,
                  "the number key in Redis differs from the one in use; keeping it",
                  {{"key", kNumberKeyKey}});
        return true;
    }
    Credentials next = *current;
    next.number_key = loaded.value;
    credentials.replace(std::move(next));
    log_event(LogLevel::Info, "number key ready");
    return true;
}

}  // namespace

bool refresh_number_key(Store& store, CredentialStore& credentials) {
    return install_number_key(load_number_key(store, *credentials.current()), credentials);
}

bool read_number_key_at_start(Store& store, CredentialStore& credentials) {
    auto loaded = load_number_key(store, *credentials.current());
    // Each wait is past the blocking connection's reconnect backoff (redis_connection.hpp).
    for (const int wait_ms : {100, 200, 400, 800}) {
        if (!loaded.error || loaded.error->http_status != 503) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        loaded = load_number_key(store, *credentials.current());
    }
    return install_number_key(loaded, credentials);
}

}  // namespace verifyd
