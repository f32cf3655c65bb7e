// Fuzz target: the settings (load_config), from an environment given as lines
// NAME=value. VERIFYD_HASH_KEY_FILE's value is written to a file in memory whose path is
// what the parser sees, so that the input decides the file's contents and never which
// file is read. A refusal is a ConfigError naming a VERIFYD_ variable; an accepted configuration
// has every setting in its documented range.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/config.hpp"

using verifyd_fuzz::require;

namespace {

// The file for VERIFYD_HASH_KEY_FILE's contents, in memory so that no input waits on a
// disk; the parser opens it by its /proc/self/fd path.
int hash_key_fd = -1;

void require_in_range(const verifyd::Config& c) {
    require(c.listen_port >= 1 && c.listen_port <= 65535, "listen port");
    require(c.threads >= 1 && c.threads <= 256, "threads");
    require(c.metrics_listen_host.empty() ||
                (c.metrics_listen_port >= 1 && c.metrics_listen_port <= 65535 &&
                 c.metrics_listen_port != c.listen_port),
            "metrics listener");
    const verifyd::ConnectionLimits& limits = c.connections;
    require(limits.header_timeout_ms >= 1000 && limits.idle_timeout_ms >= 1000 &&
                limits.max_connections >= 1,
            "connection limits");
    require(c.redis_timeout_ms >= 10 && c.redis_timeout_ms <= 60000, "redis timeout");
    require(c.code_length >= 4 && c.code_length <= 10, "code length");
    require(c.code_ttl >= 1 && c.code_ttl <= 86400, "code ttl");
    require(c.max_attempts >= 1 && c.max_attempts <= 100, "max attempts");
    require(!c.send_limits.empty(), "send limits");
    for (const auto& window : c.send_limits) {
        require(window.count >= 1 && window.seconds >= 1, "send window");
    }
    require(!c.api_keys_file.empty(), "keys file");
    require(c.redis.sentinels.empty() || !c.redis.master_name.empty(), "sentinel master");
    require(c.provider != verifyd::ProviderKind::Webhook || c.webhook.secret.size() >= 16,
            "webhook secret");
    const verifyd::DeliverySettings& d = c.delivery;
    require(d.max_attempts >= 1 && d.workers >= 1 && !d.consumer.empty(), "delivery settings");
    require(d.backoff_ms <= d.max_backoff_ms, "the retry delay cap is at least the first delay");
    require(d.claim_idle_ms >= d.timeout_ms + 500,
            "a job is claimed only after its call timed out");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    hash_key_fd = memfd_create("verifyd-fuzz-hash-key", 0);
    require(hash_key_fd >= 0, "a memory file can be made");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::map<std::string, std::string> variables;
    std::string rest = verifyd_fuzz::text_of(data, size);
    while (!rest.empty()) {
        const std::string line = verifyd_fuzz::take_line(rest);
        const size_t equals = line.find('=');
        if (equals != std::string::npos) {
            variables[line.substr(0, equals)] = line.substr(equals + 1);
        }
    }
    auto file = variables.find("VERIFYD_HASH_KEY_FILE");
    if (file != variables.end()) {
        const std::string& contents = file->second;
        require(ftruncate(hash_key_fd, 0) == 0 &&
                    pwrite(hash_key_fd, contents.data(), contents.size(), 0) ==
                        static_cast<ssize_t>(contents.size()),
                "the memory file takes the contents");
        file->second = "/proc/self/fd/" + std::to_string(hash_key_fd);
    }
    const verifyd::EnvLookup env = [&](const std::string& name) -> std::optional<std::string> {
        const auto found = variables.find(name);
        if (found == variables.end()) {
            return std::nullopt;
        }
        return found->second;
    };
    try {
        require_in_range(verifyd::load_config(env));
    } catch (const verifyd::ConfigError& e) {
        require(e.variable().rfind("VERIFYD_", 0) == 0, "a refusal names a VERIFYD_ variable");
    }
    return 0;
}
