// redis-server masters, replicas and sentinels for the high-availability tests.
#include "support/sentinel_cluster.hpp"

#include <filesystem>
#include <functional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace verifyd_test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kSyncTimeout = std::chrono::seconds(10);
constexpr auto kSentinelSettleTimeout = std::chrono::seconds(20);
constexpr auto kSentinelPoll = std::chrono::milliseconds(50);

// Polls `condition` until it holds or `timeout` passes.
template <typename Condition>
bool poll_until(Condition condition, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (condition()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(kSentinelPoll);
    }
}

}  // namespace

std::map<std::string, std::string> sentinel_fields(const RedisValue& entry) {
    std::map<std::string, std::string> fields;
    for (size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
        fields[entry.elements[i].str] = entry.elements[i + 1].str;
    }
    return fields;
}

SentinelCluster::SentinelCluster(size_t replicas)
    : SentinelCluster(SentinelClusterOptions{replicas, {}, {}}) {}

SentinelCluster::SentinelCluster(SentinelClusterOptions options)
    : dir_("verifyd-sentinel"), options_(std::move(options)) {
    const size_t replicas = options_.replicas;
    for (size_t node = 0; node <= replicas; ++node) {
        start_node(node);
    }
    if (!wait_for_replicas_in_sync(0, replicas, kSyncTimeout)) {
        throw std::runtime_error("the replicas did not sync with the master within 10 s\n" +
                                 logs());
    }
    // Sentinels started after the replicas synced learn of them from their first INFO of
    // the master instead of the next one, ten seconds later.
    for (size_t sentinel = 0; sentinel < kSentinels; ++sentinel) {
        start_sentinel(sentinel);
    }
    if (!wait_until_settled(0, replicas, kSentinelSettleTimeout)) {
        throw std::runtime_error("the sentinels did not agree on the master within 20 s\n" +
                                 logs());
    }
}

SentinelCluster::~SentinelCluster() {
    // Sentinels first, so that stopping the master does not start a failover.
    sentinels_.clear();
    nodes_.clear();
}

void SentinelCluster::start_node(size_t index) {
    const std::string dir = dir_.file("node-" + std::to_string(index));
    std::filesystem::create_directories(dir);
    const int master_port = index == 0 ? 0 : node_ports_.at(0);
    auto arguments = [&](int port) {
        std::vector<std::string> args = redis_server_arguments(port, dir);
        args.insert(args.end(),
                    {"--repl-diskless-sync-delay", "0", "--shutdown-on-sigterm", "now"});
        if (master_port != 0) {
            args.insert(args.end(), {"--replicaof", "127.0.0.1", std::to_string(master_port)});
        }
        if (!options_.redis_password.empty()) {
            args.insert(args.end(), {"--requirepass", options_.redis_password, "--masterauth",
                                     options_.redis_password});
        }
        return args;
    };
    auto [process, port] =
        start_redis_on_free_port(arguments, dir + ".log", options_.redis_password);
    nodes_.push_back(std::move(process));
    node_ports_.push_back(port);
}

void SentinelCluster::start_sentinel(size_t index) {
    const std::string dir = dir_.file("sentinel-" + std::to_string(index));
    std::filesystem::create_directories(dir);
    const std::string conf = dir + "/sentinel.conf";
    const std::string master = std::to_string(node_ports_.at(0));
    std::string passwords;
    if (!options_.redis_password.empty()) {
        passwords +=
            "sentinel auth-pass " + std::string(kMasterName) + " " + options_.redis_password + "\n";
    }
    if (!options_.sentinel_password.empty()) {
        // Its own password, and the one it gives the other sentinels.
        passwords += "requirepass " + options_.sentinel_password + "\n" +
                     "sentinel sentinel-pass " + options_.sentinel_password + "\n";
    }
    auto arguments = [&](int port) {
        // Sentinels rewrite their conf, so each attempt starts from a fresh one.
        write_file(conf, "sentinel monitor " + std::string(kMasterName) + " 127.0.0.1 " + master +
                             " 2\n"
                             "sentinel down-after-milliseconds " +
                             kMasterName +
                             " 1000\n"
                             "sentinel failover-timeout " +
                             kMasterName +
                             " 5000\n"
                             "sentinel parallel-syncs " +
                             kMasterName + " 1\n" + passwords);
        std::vector<std::string> args{conf, "--sentinel"};
        const std::vector<std::string> common = redis_server_arguments(port, dir);
        args.insert(args.end(), common.begin(), common.end());
        return args;
    };
    auto [process, port] =
        start_redis_on_free_port(arguments, dir + ".log", options_.sentinel_password);
    sentinels_.push_back(std::move(process));
    sentinel_ports_.push_back(port);
}

std::string SentinelCluster::sentinels_setting() const {
    std::string setting;
    for (int port : sentinel_ports_) {
        setting += (setting.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
    }
    return setting;
}

RedisValue SentinelCluster::node_command(size_t node, const std::vector<std::string>& args) const {
    return redis_command(node_port(node), args, std::chrono::seconds(5), options_.redis_password);
}

RedisValue SentinelCluster::sentinel_command(size_t sentinel,
                                             const std::vector<std::string>& args) const {
    return redis_command(sentinel_port(sentinel), args, std::chrono::seconds(5),
                         options_.sentinel_password);
}

std::string SentinelCluster::role(size_t node) const {
    try {
        RedisValue reply = redis_command(node_port(node), {"ROLE"}, std::chrono::milliseconds(500),
                                         options_.redis_password);
        if (reply.type == RedisValue::Type::Array && !reply.elements.empty()) {
            return reply.elements[0].str;
        }
    } catch (const std::runtime_error&) {
        // Not answering: no role.
    }
    return {};
}

std::optional<int> SentinelCluster::reported_master(size_t sentinel) const {
    try {
        RedisValue reply = redis_command(
            sentinel_port(sentinel), {"SENTINEL", "get-master-addr-by-name", kMasterName},
            std::chrono::milliseconds(500), options_.sentinel_password);
        if (reply.type == RedisValue::Type::Array && reply.elements.size() == 2) {
            return std::stoi(reply.elements[1].str);
        }
    } catch (const std::exception&) {
        // Not answering, or not a port: nothing reported.
    }
    return std::nullopt;
}

bool SentinelCluster::settled(size_t master, size_t replicas) const {
    const int master_port = node_port(master);
    try {
        for (size_t sentinel = 0; sentinel < sentinel_ports_.size(); ++sentinel) {
            if (reported_master(sentinel) != master_port) {
                return false;
            }
            auto fields =
                sentinel_fields(sentinel_command(sentinel, {"SENTINEL", "MASTER", kMasterName}));
            if (fields["flags"] != "master" ||
                fields["num-other-sentinels"] != std::to_string(sentinel_ports_.size() - 1)) {
                return false;
            }
            RedisValue listed = sentinel_command(sentinel, {"SENTINEL", "REPLICAS", kMasterName});
            size_t healthy = 0;
            for (const auto& entry : listed.elements) {
                auto replica = sentinel_fields(entry);
                if (replica["flags"] == "slave" && replica["master-link-status"] == "ok" &&
                    replica["master-port"] == std::to_string(master_port)) {
                    ++healthy;
                }
            }
            if (healthy < replicas) {
                return false;
            }
        }
    } catch (const std::runtime_error&) {
        return false;
    }
    return true;
}

bool SentinelCluster::wait_until_settled(size_t master, size_t replicas,
                                         std::chrono::milliseconds timeout) const {
    return poll_until([&] { return settled(master, replicas); }, timeout);
}

bool SentinelCluster::wait_for_role(size_t node, const std::string& wanted,
                                    std::chrono::milliseconds timeout) const {
    return poll_until([&] { return role(node) == wanted; }, timeout);
}

bool SentinelCluster::replicates(size_t replica, size_t master) const {
    // ROLE of a replica: "slave", master host, master port, link state, offset.
    try {
        RedisValue reply = redis_command(node_port(replica), {"ROLE"},
                                         std::chrono::milliseconds(500), options_.redis_password);
        return reply.type == RedisValue::Type::Array && reply.elements.size() >= 4 &&
               reply.elements[0].str == "slave" && reply.elements[2].integer == node_port(master) &&
               reply.elements[3].str == "connected";
    } catch (const std::runtime_error&) {
        return false;
    }
}

bool SentinelCluster::wait_for_replication(size_t replica, size_t master,
                                           std::chrono::milliseconds timeout) const {
    return poll_until([&] { return replicates(replica, master); }, timeout);
}

bool SentinelCluster::tilted() const {
    for (const auto& sentinel : sentinels_) {
        if (sentinel->log().find("+tilt") != std::string::npos) {
            return true;
        }
    }
    return false;
}

bool SentinelCluster::wait_for_replicas_in_sync(size_t master, size_t replicas,
                                                std::chrono::milliseconds timeout) const {
    // INFO replication on the master: master_repl_offset:N and, per replica,
    // slaveK:ip=…,port=…,state=online,offset=N,lag=… (offsets as last acknowledged).
    static const std::regex master_offset(R"(master_repl_offset:(\d+))");
    static const std::regex replica_line(R"(slave\d+:[^\r\n]*state=online,offset=(\d+))");
    return poll_until(
        [&] {
            std::string info;
            try {
                info = node_command(master, {"INFO", "replication"}).str;
            } catch (const std::runtime_error&) {
                return false;
            }
            std::smatch offset;
            if (!std::regex_search(info, offset, master_offset)) {
                return false;
            }
            size_t in_sync = 0;
            for (std::sregex_iterator it(info.begin(), info.end(), replica_line), end; it != end;
                 ++it) {
                if ((*it)[1] == offset[1]) {
                    ++in_sync;
                }
            }
            return in_sync >= replicas;
        },
        timeout);
}

bool SentinelCluster::failover(std::chrono::milliseconds timeout) {
    return poll_until(
        [&] {
            try {
                RedisValue reply = sentinel_command(0, {"SENTINEL", "FAILOVER", kMasterName});
                return reply.type == RedisValue::Type::Status && reply.str == "OK";
            } catch (const std::runtime_error&) {
                return false;
            }
        },
        timeout);
}

void SentinelCluster::kill_node(size_t node) {
    nodes_.at(node)->kill();
}

std::string SentinelCluster::logs() const {
    std::ostringstream out;
    for (size_t node = 0; node < nodes_.size(); ++node) {
        out << "--- redis node " << node << " (port " << node_ports_[node] << ", role "
            << role(node) << ") ---\n"
            << server_log_end(nodes_[node]->log()) << "\n";
    }
    for (size_t sentinel = 0; sentinel < sentinels_.size(); ++sentinel) {
        out << "--- sentinel " << sentinel << " (port " << sentinel_ports_[sentinel] << ") ---\n"
            << server_log_end(sentinels_[sentinel]->log()) << "\n";
    }
    return out.str();
}

}  // namespace verifyd_test
