// Loading and swapping the credential snapshot.
#include "verifyd/credentials.hpp"

#include <sys/stat.h>

#include "verifyd/crypto.hpp"

namespace verifyd {

CredentialStore::CredentialStore(Credentials initial)
    : current_(std::make_shared<const Credentials>(std::move(initial))) {}

std::shared_ptr<const Credentials> CredentialStore::current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
}

void CredentialStore::replace(Credentials next) {
    auto snapshot = std::make_shared<const Credentials>(std::move(next));
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(snapshot);
}

namespace {

KeyRing load_key_ring(const Config& config) {
    try {
        return KeyRing::load_file(config.api_keys_file, config.key_rpm);
    } catch (const std::exception& e) {
        throw ConfigError("VERIFYD_API_KEYS_FILE", e.what());
    }
}

}  // namespace

std::vector<const HashKey*> Credentials::code_keys() const {
    if (previous_hash_key && *previous_hash_key != hash_key)
        return {&hash_key, &*previous_hash_key};
    return {&hash_key};
}

const HashKey& Credentials::sealing_key() const {
    return previous_hash_key && previous_seal_key ? *previous_seal_key : seal_key;
}

namespace {

// The previous seal key: the previous hash key's when seal keys derive from hash keys,
// else the one this process served with before (a rotation it saw itself).
std::optional<HashKey> previous_seal_key(const Config& config, const Credentials& next,
                                         const Credentials* old) {
    if (config.seal_key_from_hash_key && next.previous_hash_key &&
        *next.previous_hash_key != next.hash_key)
        return derive_seal_key(*next.previous_hash_key);
    if (!old) return std::nullopt;
    return next.seal_key != old->seal_key ? std::optional<HashKey>(old->seal_key)
                                          : old->previous_seal_key;
}

}  // namespace

Credentials load_credentials(const Config& config) {
    Credentials credentials;
    credentials.keys = load_key_ring(config);
    credentials.policy = load_policy(config.policy_file, config.fraud_guard);
    credentials.hash_key = config.hash_key;
    credentials.previous_hash_key = read_previous_hash_key_file(config.previous_hash_key_file);
    credentials.seal_key = config.seal_key;
    credentials.previous_seal_key = previous_seal_key(config, credentials, nullptr);
    return credentials;
}

Credentials reload_credentials(const Config& config, const Credentials& old) {
    Credentials next;
    next.keys = load_key_ring(config);
    next.policy = load_policy(config.policy_file, config.fraud_guard);
    next.hash_key =
        config.hash_key_file.empty() ? old.hash_key : read_hash_key_file(config.hash_key_file);
    next.previous_hash_key = read_previous_hash_key_file(config.previous_hash_key_file);
    next.number_key = old.number_key;
    next.seal_key = config.seal_key_from_hash_key ? derive_seal_key(next.hash_key) : old.seal_key;
    next.previous_seal_key = previous_seal_key(config, next, &old);
    return next;
}

std::string file_fingerprint(const std::string& path) {
    struct stat info {};
    if (path.empty() || stat(path.c_str(), &info) != 0) return {};
    return std::to_string(info.st_ino) + ":" + std::to_string(info.st_size) + ":" +
           std::to_string(info.st_mtim.tv_sec) + "." + std::to_string(info.st_mtim.tv_nsec);
}

}  // namespace verifyd
