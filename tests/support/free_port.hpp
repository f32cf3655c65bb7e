// A TCP port on 127.0.0.1 that nothing listens on right now, found by binding port 0.
// Not for: reserving a port; another process may take it before the caller binds it,
// so callers that start servers retry with a new port when the bind fails.
#pragma once

namespace verifyd_test {

// Throws std::runtime_error when no socket can be bound.
int free_loopback_port();

}  // namespace verifyd_test
