// Opening a Redis connection the way every part of verifyd needs it: to the master (asking
// the sentinels when configured), authenticated, on the configured database, with the
// function library of lua/ loaded; and what a Redis error reply means for a caller. Not for:
// sending the API's commands (redis_lane) or the outbox's (store).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "verifyd/config.hpp"
#include "verifyd/errors.hpp"

struct redisContext;
struct redisReply;

namespace verifyd {

struct ReplyFree {
    void operator()(redisReply* reply) const;
};
using ReplyHandle = std::unique_ptr<redisReply, ReplyFree>;

// A reply's text (strings, statuses, errors, integers); empty for anything else.
std::string reply_string(const redisReply* reply);
// A reply's number (integers, or strings holding one); 0 for anything else.
long long reply_integer(const redisReply* reply);

// The command `args` in Redis's wire format (RESP), FCALL's script named as CommandArgv
// names it: what the lanes write, many commands a batch, without hiredis formatting each
// through its own string type.
std::string encode_command(const std::vector<std::string>& args);

// A command given as strings, as hiredis takes it. FCALL's second argument names a script
// of lua/ and is sent as that script's function in this release's library.
struct CommandArgv {
    explicit CommandArgv(const std::vector<std::string>& args);
    CommandArgv(const CommandArgv&) = delete;  // argv may point into `function`
    CommandArgv& operator=(const CommandArgv&) = delete;
    int count() const { return static_cast<int>(argv.size()); }

    std::vector<const char*> argv;
    std::vector<size_t> lengths;

  private:
    std::string function;
};

// A blocking connection with `timeout_ms` for every read and write, ready for commands;
// nullptr when any step fails (the server is down, not the master, refuses the password).
redisContext* open_redis(const RedisEndpoint& endpoint, int timeout_ms);

// The API error for an error reply, logged unless it is part of normal operation.
ApiError redis_error_reply(const std::string& what, const std::string& message);
// After this error reply the connection is to the wrong server (a demoted master): the
// next one must be found again.
bool error_needs_new_connection(const std::string& message);
// Whether a FUNCTION LOAD's reply means the library is there; a refusal is logged.
bool library_loaded(const redisReply* reply);
// Redis no longer has the function library (FUNCTION FLUSH, or a restart without
// persistence behind a proxy that kept the connection).
bool is_function_missing(const std::string& message);

// open_redis, but after a failure only once a growing backoff has passed (soon at first,
// then up to a second apart), so that a dead server costs each caller a fast 503 rather
// than a timeout.
class Reconnector {
  public:
    // nullptr while backing off or when the attempt fails.
    redisContext* open(const RedisEndpoint& endpoint, int timeout_ms);

  private:
    std::chrono::steady_clock::time_point next_attempt_{};
    int backoff_ms_ = 0;
};

}  // namespace verifyd
