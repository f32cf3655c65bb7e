// redis-server processes for the integration tests, and a hiredis client to inspect them.
#include "support/redis_server.hpp"

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"

namespace verifyd_test {

namespace {

constexpr auto kRedisStartTimeout = std::chrono::seconds(10);

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

RedisValue convert(const redisReply* reply) {
    RedisValue value;
    switch (reply->type) {
        case REDIS_REPLY_STRING:
            value.type = RedisValue::Type::String;
            value.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_STATUS:
            value.type = RedisValue::Type::Status;
            value.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_ERROR:
            value.type = RedisValue::Type::Error;
            value.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_INTEGER:
            value.type = RedisValue::Type::Integer;
            value.integer = reply->integer;
            break;
        case REDIS_REPLY_ARRAY:
            value.type = RedisValue::Type::Array;
            for (size_t i = 0; i < reply->elements; ++i) {
                value.elements.push_back(convert(reply->element[i]));
            }
            break;
        default:
            value.type = RedisValue::Type::Nil;
    }
    return value;
}

// One hiredis connection, freed on every path.
class Connection {
  public:
    Connection(int port, std::chrono::milliseconds timeout) {
        context_ = redisConnectWithTimeout("127.0.0.1", port, to_timeval(timeout));
        if (!context_ || context_->err) {
            std::string problem = context_ ? context_->errstr : "out of memory";
            if (context_) {
                redisFree(context_);
            }
            throw std::runtime_error("cannot connect to redis on port " + std::to_string(port) +
                                     ": " + problem);
        }
        redisSetTimeout(context_, to_timeval(timeout));
    }
    ~Connection() { redisFree(context_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    RedisValue command(const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<size_t> lengths;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lengths.push_back(a.size());
        }
        auto* reply = static_cast<redisReply*>(
            redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        if (!reply) {
            throw std::runtime_error(std::string("redis command failed: ") + context_->errstr);
        }
        RedisValue value = convert(reply);
        freeReplyObject(reply);
        return value;
    }

  private:
    redisContext* context_ = nullptr;
};

}  // namespace

std::vector<std::string> RedisValue::leaves() const {
    std::vector<std::string> out;
    switch (type) {
        case Type::String:
        case Type::Status:
        case Type::Error:
            out.push_back(str);
            break;
        case Type::Integer:
            out.push_back(std::to_string(integer));
            break;
        case Type::Array:
            for (const auto& element : elements) {
                auto inner = element.leaves();
                out.insert(out.end(), inner.begin(), inner.end());
            }
            break;
        case Type::Nil:
            break;
    }
    return out;
}

RedisValue redis_command(int port, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout, const std::string& password) {
    Connection connection(port, timeout);
    if (!password.empty()) {
        RedisValue auth = connection.command({"AUTH", password});
        if (auth.type == RedisValue::Type::Error) {
            return auth;
        }
    }
    return connection.command(args);
}

std::vector<std::string> redis_server_arguments(int port, const std::string& dir) {
    return {"--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no",     "--daemonize",        "no",     "--dir",     dir};
}

std::unique_ptr<Process> launch_redis_server(int port, const std::vector<std::string>& args,
                                             const std::string& log_path,
                                             const std::string& password) {
    auto process = std::make_unique<Process>(REDIS_SERVER_BINARY, args, Environment{}, log_path);
    const auto deadline = std::chrono::steady_clock::now() + kRedisStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!process->running()) {
            return nullptr;
        }
        try {
            RedisValue reply =
                redis_command(port, {"PING"}, std::chrono::milliseconds(200), password);
            if (reply.type == RedisValue::Type::Status && reply.str == "PONG") {
                return process;
            }
        } catch (const std::runtime_error&) {
            // Not listening yet.
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    process->kill();
    return nullptr;
}

std::pair<std::unique_ptr<Process>, int> start_redis_on_free_port(
    const std::function<std::vector<std::string>(int)>& arguments, const std::string& log_path,
    const std::string& password) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        const int port = free_loopback_port();
        if (auto process = launch_redis_server(port, arguments(port), log_path, password)) {
            return {std::move(process), port};
        }
    }
    throw std::runtime_error("redis-server did not start; its log:\n" + read_file(log_path));
}

std::string server_log_end(const std::string& log, size_t length) {
    return log.size() <= length ? log : "…" + log.substr(log.size() - length);
}

RedisServer::RedisServer() : dir_("verifyd-redis") {
    // The free port may be taken by someone else before redis binds it; try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_loopback_port();
        if (launch()) {
            return;
        }
    }
    throw std::runtime_error("redis-server did not start; its log:\n" + log());
}

RedisServer::~RedisServer() {
    if (process_) {
        process_->stop(std::chrono::seconds(3));
    }
}

std::string RedisServer::url(int db) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

bool RedisServer::launch() {
    process_.reset();
    process_ = launch_redis_server(port_, redis_server_arguments(port_, dir_.path()),
                                   dir_.file("redis.log"));
    return process_ != nullptr;
}

void RedisServer::start() {
    if (running()) {
        return;
    }
    // The old port may linger briefly in the kernel after a kill; retry for a while.
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (launch()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("redis-server did not restart on port " + std::to_string(port_) +
                             "; its log:\n" + log());
}

void RedisServer::stop() {
    if (process_) {
        process_->stop(std::chrono::seconds(3));
    }
}

void RedisServer::kill() {
    if (process_) {
        process_->kill();
    }
}

void RedisServer::pause() {
    if (process_) {
        process_->send_signal(SIGSTOP);
    }
}

void RedisServer::resume() {
    if (process_) {
        process_->send_signal(SIGCONT);
    }
}

bool RedisServer::running() const {
    return process_ && process_->running();
}

bool RedisServer::ping(std::chrono::milliseconds timeout) const {
    try {
        Connection connection(port_, timeout);
        RedisValue reply = connection.command({"PING"});
        return reply.type == RedisValue::Type::Status && reply.str == "PONG";
    } catch (const std::runtime_error&) {
        return false;
    }
}

RedisValue RedisServer::command(const std::vector<std::string>& args) const {
    return redis_command(port_, args);
}

void RedisServer::log_every_command() const {
    command({"CONFIG", "SET", "slowlog-max-len", "100000"});
    command({"CONFIG", "SET", "slowlog-log-slower-than", "0"});
    command({"SLOWLOG", "RESET"});
}

std::vector<std::vector<std::string>> RedisServer::script_calls(const std::string& script) const {
    command({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
    const std::string suffix = "_" + script;
    std::vector<std::vector<std::string>> calls;
    for (const RedisValue& entry : command({"SLOWLOG", "GET", "100000"}).elements) {
        const auto& logged = entry.elements.at(3).elements;
        if (logged.size() < 2 || logged[0].str != "FCALL") continue;
        const std::string& name = logged[1].str;
        if (name.size() < suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        std::vector<std::string> args;
        for (const RedisValue& arg : logged) args.push_back(arg.str);
        calls.push_back(std::move(args));
    }
    return calls;
}

std::vector<std::string> RedisServer::keys() const {
    Connection connection(port_, std::chrono::seconds(5));
    std::vector<std::string> keys;
    std::string cursor = "0";
    // SCAN returns every key present throughout; 100000 rounds bound a runaway loop.
    for (int round = 0; round < 100000; ++round) {
        RedisValue reply = connection.command({"SCAN", cursor, "COUNT", "1000"});
        if (reply.type != RedisValue::Type::Array || reply.elements.size() != 2) {
            throw std::runtime_error("unexpected SCAN reply");
        }
        cursor = reply.elements[0].str;
        for (const auto& key : reply.elements[1].elements) {
            keys.push_back(key.str);
        }
        if (cursor == "0") {
            break;
        }
    }
    return keys;
}

std::vector<RedisEntry> RedisServer::dump() const {
    std::vector<std::string> all_keys = keys();
    Connection connection(port_, std::chrono::seconds(5));
    std::vector<RedisEntry> entries;
    for (const auto& key : all_keys) {
        RedisEntry entry;
        entry.key = key;
        entry.type = connection.command({"TYPE", key}).str;
        entry.ttl_ms = connection.command({"PTTL", key}).integer;
        RedisValue contents;
        if (entry.type == "string") {
            contents = connection.command({"GET", key});
        } else if (entry.type == "hash") {
            contents = connection.command({"HGETALL", key});
        } else if (entry.type == "list") {
            contents = connection.command({"LRANGE", key, "0", "-1"});
        } else if (entry.type == "set") {
            contents = connection.command({"SMEMBERS", key});
        } else if (entry.type == "zset") {
            contents = connection.command({"ZRANGE", key, "0", "-1", "WITHSCORES"});
        } else if (entry.type == "stream") {
            contents = connection.command({"XRANGE", key, "-", "+"});
        } else {
            // "none": the key expired between SCAN and TYPE.
            continue;
        }
        entry.values = contents.leaves();
        entries.push_back(std::move(entry));
    }
    return entries;
}

std::string RedisServer::log() const {
    return read_file(dir_.file("redis.log"));
}

std::string answered_string(const verifyd::Result<verifyd::ReplyHandle>& result) {
    INFO((result.error ? result.error->message : std::string()));
    REQUIRE(result.ok());
    REQUIRE(result.value);
    return verifyd::reply_string(result.value.get());
}

}  // namespace verifyd_test
