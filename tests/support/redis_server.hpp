// A private redis-server for one test: started on a free loopback port with no
// persistence, in its own temporary directory; it can be killed, paused and restarted
// on the same port to stage outages. Also the command line and start-up wait that every
// redis-server of the tests shares (sentinel_cluster.hpp's too), and a small synchronous
// client (hiredis) for reading what verifyd stored. Not for: a shared Redis, or anything
// verifyd itself does.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "verifyd/redis_connection.hpp"

namespace verifyd_test {

struct RedisValue {
    enum class Type { Nil, String, Integer, Array, Status, Error };
    Type type = Type::Nil;
    std::string str;  // String, Status and Error
    long long integer = 0;
    std::vector<RedisValue> elements;

    // Every string and integer in this value and its elements, depth first.
    std::vector<std::string> leaves() const;
};

// One key and everything stored under it, for leak checks.
struct RedisEntry {
    std::string key;
    std::string type;                 // string, hash, list, set, zset, stream
    std::vector<std::string> values;  // values; hash fields and values; members and scores
    long long ttl_ms = -1;            // PTTL: -1 when the key never expires
};

// Runs one command on a fresh connection to 127.0.0.1:`port` (any Redis, a sentinel
// included), after AUTH with `password` unless it is empty; throws std::runtime_error
// when it cannot be reached. A Redis error reply (AUTH's included) is returned, not thrown.
RedisValue redis_command(int port, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5),
                         const std::string& password = {});

// The string that one of verifyd's own Redis clients answered (a ClusterClient's call):
// REQUIREs an answer, not an error.
std::string answered_string(const verifyd::Result<verifyd::ReplyHandle>& result);

// The command line, after the program, of every redis-server the tests start: on `port`
// of 127.0.0.1 only, in the foreground, without persistence, working in `dir`.
std::vector<std::string> redis_server_arguments(int port, const std::string& dir);

// Starts redis-server with `args`, its output in `log_path`, and waits up to 10 s until it
// answers PING on `port` (after AUTH with `password` unless it is empty). Null when it
// ended first (e.g. the port was taken) or did not answer in time (it is killed then).
std::unique_ptr<Process> launch_redis_server(int port, const std::vector<std::string>& args,
                                             const std::string& log_path,
                                             const std::string& password = {});

// launch_redis_server on free loopback ports, with `arguments(port)`, until one starts
// (a free port may be taken before redis-server binds it): the process and its port.
// Throws with the log after five attempts.
std::pair<std::unique_ptr<Process>, int> start_redis_on_free_port(
    const std::function<std::vector<std::string>(int port)>& arguments, const std::string& log_path,
    const std::string& password = {});

// The end of a server's log for a failure message: its last `length` characters.
std::string server_log_end(const std::string& log, size_t length = 3000);

class RedisServer {
  public:
    // Starts the server and waits until it answers PING; throws with its log otherwise.
    RedisServer();
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const { return port_; }
    std::string url(int db = 0) const;

    // Starts it again on the same port after stop() or kill(); waits for PING.
    void start();
    void stop();    // SIGTERM, bounded
    void kill();    // SIGKILL: connections drop at once
    void pause();   // SIGSTOP: connections stay open but nothing is answered
    void resume();  // SIGCONT
    bool running() const;
    bool ping(std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;

    // Runs one command on a fresh connection; throws std::runtime_error when Redis cannot
    // be reached. A Redis error reply is returned, not thrown.
    RedisValue command(const std::vector<std::string>& args) const;
    // Every key, by SCAN.
    std::vector<std::string> keys() const;
    // Every key with its type, TTL and contents (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE,
    // XRANGE by TYPE).
    std::vector<RedisEntry> dump() const;
    std::string log() const;
    // Redis logs every command it runs from now on (its SLOWLOG, with a threshold of 0),
    // until script_calls reads them.
    void log_every_command() const;
    // The calls of a script of lua/ ("guard_admit") that Redis logged since
    // log_every_command, newest first, each its FCALL's arguments (the first 32), and the
    // logging stopped.
    std::vector<std::vector<std::string>> script_calls(const std::string& script) const;

  private:
    bool launch();  // launch_redis_server on port_; false when it did not start

    TempDir dir_;
    int port_ = 0;
    std::unique_ptr<Process> process_;
};

}  // namespace verifyd_test
