// A scripted Redis for one test: a RESP server on a free 127.0.0.1 port, run by a thread
// of its own, that answers each command with whatever the test's script returns (a raw
// RESP reply) and records every command it received, with the connection and the read
// it came in. It stages what a real Redis rarely does on demand: MOVED, ASK, TRYAGAIN,
// CLUSTERDOWN, a lost function library, a node that goes away. Not for: Redis's
// semantics (no data is stored; use redis_server.hpp), inline commands, RESP3, or more
// than 64 connections at once (more are closed on accept).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "verifyd/config.hpp"

namespace verifyd_test {

// Raw RESP replies for scripts.
namespace resp {
std::string status(const std::string& text);  // +text
std::string error(const std::string& text);   // -text
std::string bulk(const std::string& text);
std::string nil();
std::string integer(long long value);
// An array of replies already in RESP.
std::string array(const std::vector<std::string>& elements);
}  // namespace resp

struct ReceivedCommand {
    std::vector<std::string> args;
    int connection = 0;  // accepted connections are numbered from 1
    int read = 0;        // the read of that connection it arrived in, numbered from 1
};

class FakeRedis {
  public:
    // The raw reply to `args`, or "" for the default: PONG to PING, OK to AUTH, SELECT and
    // ASKING, a library name to FUNCTION, and an unknown-command error to anything else.
    // Called on the server's thread, one command at a time.
    using Script = std::function<std::string(const std::vector<std::string>& args)>;

    // Listening once constructed; throws std::runtime_error when it cannot listen.
    explicit FakeRedis(Script script = {});
    // stop().
    ~FakeRedis();
    FakeRedis(const FakeRedis&) = delete;
    FakeRedis& operator=(const FakeRedis&) = delete;

    int port() const;
    verifyd::HostPort address() const { return {"127.0.0.1", port()}; }
    void set_script(Script script);
    // Closes the listener and every connection and ends the thread: the node is gone (a
    // connection is refused). What it received stays readable.
    void stop();

    std::vector<ReceivedCommand> received() const;
    // Just the arguments, in the order received.
    std::vector<std::vector<std::string>> commands() const;
    // How many commands named `name` (the first argument, any case) it received.
    size_t count(const std::string& name) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace verifyd_test
