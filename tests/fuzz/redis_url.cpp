// Fuzz target: VERIFYD_REDIS_URL (parse_redis_url); an accepted URL is a unix socket with
// an absolute path or a host with a port of 1 to 65535, and a refused one says why.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/config.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string problem;
    const auto endpoint = verifyd::parse_redis_url(verifyd_fuzz::text_of(data, size), problem);
    if (!endpoint) {
        require(!problem.empty(), "a refused URL says why");
        return 0;
    }
    if (endpoint->unix_socket) {
        require(!endpoint->path.empty() && endpoint->path[0] == '/', "a socket path is absolute");
    } else {
        require(!endpoint->host.empty() && endpoint->port >= 1 && endpoint->port <= 65535,
                "a host and a port of 1 to 65535");
        require(endpoint->db >= 0 && endpoint->db <= 1000000, "a database of 0 to 1000000");
    }
    return 0;
}
