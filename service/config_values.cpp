// The parsers of single setting values, which read no environment: an address, a Redis
// URL, a hash key and the files that hold one, send windows. config.cpp reads the
// environment with them; the credentials, the store and the fraud guard, and the tests
// use them too. Not for: defaults, ranges, or which variable a value comes from
// (config.cpp).
#include <algorithm>
#include <fstream>
#include <sstream>

#include "verifyd/config.hpp"
#include "verifyd/crypto.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

std::string read_file(const std::string& variable, const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError(variable, "cannot read " + path);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

bool parse_host_port(const std::string& text, int default_port, std::string& host, int& port,
                     std::string& problem) {
    std::string port_text;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) {
            problem = "unterminated [ in the address";
            return false;
        }
        host = text.substr(1, close - 1);
        std::string rest = text.substr(close + 1);
        if (!rest.empty() && rest[0] != ':') {
            problem = "expected :port after ]";
            return false;
        }
        port_text = rest.empty() ? "" : rest.substr(1);
        if (rest == ":") port_text = ":";
    } else {
        auto colon = text.rfind(':');
        host = text.substr(0, colon);
        if (colon != std::string::npos) port_text = text.substr(colon + 1);
        if (colon != std::string::npos && port_text.empty()) port_text = ":";
    }
    if (host.empty()) {
        problem = "the host is missing";
        return false;
    }
    if (port_text.empty()) {
        if (default_port == 0) {
            problem = "the port is missing (expected host:port)";
            return false;
        }
        port = default_port;
        return true;
    }
    auto value = parse_whole_number(port_text);
    if (!value || *value < 1 || *value > 65535) {
        problem = "the port must be a number from 1 to 65535";
        return false;
    }
    port = static_cast<int>(*value);
    return true;
}

std::optional<RedisEndpoint> parse_redis_url(const std::string& url, std::string& problem) {
    RedisEndpoint endpoint;
    const std::string unix_scheme = "unix://";
    const std::string redis_scheme = "redis://";
    if (starts_with(url, unix_scheme)) {
        endpoint.unix_socket = true;
        endpoint.path = url.substr(unix_scheme.size());
        if (endpoint.path.empty() || endpoint.path[0] != '/') {
            problem = "a unix socket URL needs an absolute path: unix:///path/to/sock";
            return std::nullopt;
        }
        return endpoint;
    }
    if (!starts_with(url, redis_scheme)) {
        problem = "must start with redis:// or unix://";
        return std::nullopt;
    }
    std::string rest = url.substr(redis_scheme.size());
    auto at = rest.rfind('@');
    if (at != std::string::npos) {
        std::string userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, colon));
        auto password =
            percent_decode(colon == std::string::npos ? std::string() : userinfo.substr(colon + 1));
        if (!user || !password) {
            problem = "bad percent-encoding in the user or password";
            return std::nullopt;
        }
        endpoint.user = *user;
        endpoint.password = *password;
    }
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    if (slash != std::string::npos) {
        std::string db_text = rest.substr(slash + 1);
        if (!db_text.empty()) {
            auto db = parse_whole_number(db_text);
            if (!db || *db > 1000000) {
                problem = "the database must be a whole number, got \"" + db_text + "\"";
                return std::nullopt;
            }
            endpoint.db = static_cast<int>(*db);
        }
    }
    if (!parse_host_port(hostport, 6379, endpoint.host, endpoint.port, problem))
        return std::nullopt;
    return endpoint;
}

std::optional<HashKey> parse_hash_key(const std::string& hex, std::string& problem) {
    HashKey key{};
    auto bytes = from_hex(hex, key.size());
    if (!bytes) {
        problem = "must be 64 hex characters (32 bytes)";
        return std::nullopt;
    }
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

HashKey read_hash_key_file(const std::string& path) {
    std::string problem;
    auto key = parse_hash_key(trim(read_file("VERIFYD_HASH_KEY_FILE", path)), problem);
    if (!key) throw ConfigError("VERIFYD_HASH_KEY_FILE", problem);
    return *key;
}

std::optional<HashKey> read_previous_hash_key_file(const std::string& path) {
    if (path.empty()) return std::nullopt;
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    const std::string hex = trim(content.str());
    if (hex.empty()) return std::nullopt;
    std::string problem;
    auto key = parse_hash_key(hex, problem);
    if (!key) throw ConfigError("VERIFYD_HASH_KEY_PREVIOUS_FILE", problem);
    return key;
}

std::string format_send_limits(const std::vector<SendWindow>& windows) {
    std::string out;
    for (const auto& window : windows) {
        if (!out.empty()) out += ',';
        out += std::to_string(window.count) + "/" + std::to_string(window.seconds);
    }
    return out;
}

std::optional<std::vector<SendWindow>> parse_send_limits(const std::string& text,
                                                         std::string& problem) {
    std::vector<SendWindow> windows;
    for (const auto& part : split(text, ',')) {
        std::string window = trim(part);
        auto slash = window.find('/');
        auto count =
            slash == std::string::npos ? std::nullopt : parse_whole_number(window.substr(0, slash));
        auto seconds = slash == std::string::npos ? std::nullopt
                                                  : parse_whole_number(window.substr(slash + 1));
        if (!count || !seconds || *count < 1 || *seconds < 1 || *count > 1000000 ||
            *seconds > 31536000) {
            problem =
                "each window must be COUNT/SECONDS with both at least 1, got \"" + window + "\"";
            return std::nullopt;
        }
        windows.push_back({static_cast<int>(*count), static_cast<int>(*seconds)});
    }
    if (windows.empty()) {
        problem = "must list at least one COUNT/SECONDS window";
        return std::nullopt;
    }
    return windows;
}

}  // namespace verifyd
