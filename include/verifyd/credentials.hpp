// The secrets verifyd serves with (the API keys, the hash key and the seal key), and the
// destination policy, as one
// snapshot, replaced whole on SIGHUP or when a mounted file changes, while requests and
// deliveries go on reading the snapshot they started with. Not for: settings, which
// need a restart.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/keys.hpp"
#include "verifyd/policy.hpp"

namespace verifyd {

// During a hash key rotation (VERIFYD_HASH_KEY_PREVIOUS_FILE set) a code is hashed under
// both keys and sealed under the previous one, so that replicas which have not yet
// re-read the files (or already dropped the previous key) still check and deliver it.
struct Credentials {
    KeyRing keys;
    Policy policy;  // VERIFYD_POLICY_FILE's, re-read with the keys file
    HashKey hash_key{};
    std::optional<HashKey> previous_hash_key;
    // The deployment's number key (number_key.hpp), once read from Redis; until then
    // nothing that needs a number tag can be served.
    std::optional<HashKey> number_key;
    HashKey seal_key{};
    // The seal key before the last rotation, so that jobs queued before it still open.
    std::optional<HashKey> previous_seal_key;

    // The hash keys a code is hashed with, current first.
    std::vector<const HashKey*> code_keys() const;
    // The key new codes are sealed with for the outbox.
    const HashKey& sealing_key() const;
};

class CredentialStore {
  public:
    explicit CredentialStore(Credentials initial);
    std::shared_ptr<const Credentials> current() const;
    void replace(Credentials next);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Credentials> current_;
};

// The credentials of a freshly loaded configuration: its hash and seal keys and the keys
// file. Throws ConfigError naming VERIFYD_API_KEYS_FILE when the file is bad.
Credentials load_credentials(const Config& config);

// The credentials after re-reading the keys file and the hash key files (when the hash
// key comes from one). The number key carries over. Throws ConfigError saying what is wrong; the
// caller keeps the old ones then.
Credentials reload_credentials(const Config& config, const Credentials& old);

// What identifies a file's version for change detection: its inode, size and mtime.
// Empty when it cannot be read.
std::string file_fingerprint(const std::string& path);

}  // namespace verifyd
