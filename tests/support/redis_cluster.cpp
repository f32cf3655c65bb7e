// redis-server nodes in cluster mode, joined and resharded by redis-cli, for the cluster
// client's tests.
#include "support/redis_cluster.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "support/free_port.hpp"

namespace verifyd_test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kCreateTimeout = std::chrono::seconds(60);
constexpr auto kClusterSettleTimeout = std::chrono::seconds(30);
constexpr auto kClusterPoll = std::chrono::milliseconds(100);
constexpr long long kSlots = 16384;

// redis-cli beside the redis-server the tests were built with.
std::string redis_cli_binary() {
    const std::filesystem::path beside =
        std::filesystem::path(REDIS_SERVER_BINARY).parent_path() / "redis-cli";
    return std::filesystem::exists(beside) ? beside.string() : "/usr/bin/redis-cli";
}

// A range of CLUSTER SLOTS: first slot, last slot, its primary's port.
using SlotRange = std::tuple<long long, long long, long long>;

std::vector<SlotRange> slot_ranges(const RedisValue& reply) {
    if (reply.type != RedisValue::Type::Array) {
        throw std::runtime_error("CLUSTER SLOTS did not answer an array");
    }
    std::vector<SlotRange> ranges;
    for (const auto& range : reply.elements) {
        if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) {
            throw std::runtime_error("CLUSTER SLOTS answered a range without a primary");
        }
        ranges.emplace_back(range.elements[0].integer, range.elements[1].integer,
                            range.elements[2].elements[1].integer);
    }
    std::sort(ranges.begin(), ranges.end());
    return ranges;
}

}  // namespace

RedisCluster::RedisCluster(size_t primaries)
    : RedisCluster(RedisClusterOptions{primaries, {}, 1}) {}

RedisCluster::RedisCluster(RedisClusterOptions options)
    : dir_("verifyd-cluster"), options_(std::move(options)) {
    for (size_t node = 0; node < options_.primaries * (1 + options_.replicas); ++node) {
        start_node(node);
    }
    std::vector<std::string> args;
    if (!options_.password.empty()) {
        args = {"-a", options_.password, "--no-auth-warning"};
    }
    args.insert(args.end(), {"--cluster", "create"});
    for (int port : ports_) {
        args.push_back("127.0.0.1:" + std::to_string(port));
    }
    args.insert(args.end(),
                {"--cluster-replicas", std::to_string(options_.replicas), "--cluster-yes"});
    RunResult created =
        run_process(redis_cli_binary(), args, Environment{}, dir_.file("create.log"),
                    std::chrono::duration_cast<std::chrono::milliseconds>(kCreateTimeout));
    if (created.timed_out || !created.status.exited || created.status.code != 0) {
        throw std::runtime_error("redis-cli --cluster create failed (" + created.status.describe() +
                                 "):\n" + created.output + logs());
    }
    if (!wait_until_ok(kClusterSettleTimeout)) {
        throw std::runtime_error("the cluster was not ok within 30 s\n" + logs());
    }
}

RedisCluster::~RedisCluster() {
    for (auto& node : nodes_) {
        node->kill();  // nothing to save, and no failover to wait for
    }
}

void RedisCluster::start_node(size_t index) {
    const std::string dir = dir_.file("node-" + std::to_string(index));
    std::filesystem::create_directories(dir);
    auto arguments = [&](int port) {
        // A node that did not start may have written its identity already.
        std::filesystem::remove(dir + "/nodes.conf");
        std::vector<std::string> args = redis_server_arguments(port, dir);
        // The bus port's own: Redis's default, the port + 10000, is past 65535 for a port
        // over 55535, which the kernel hands out as free too.
        args.insert(
            args.end(),
            {"--cluster-enabled", "yes", "--cluster-port", std::to_string(free_loopback_port()),
             "--cluster-config-file", dir + "/nodes.conf", "--cluster-node-timeout", "2000",
             // A replica takes over however long its link was down.
             "--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0"});
        if (!options_.password.empty()) {
            args.insert(args.end(),
                        {"--requirepass", options_.password, "--masterauth", options_.password});
        }
        return args;
    };
    auto [process, port] = start_redis_on_free_port(arguments, dir + ".log", options_.password);
    nodes_.push_back(std::move(process));
    ports_.push_back(port);
}

std::string RedisCluster::seeds_setting() const {
    std::string setting;
    for (int port : ports_) {
        setting += (setting.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(port);
    }
    return setting;
}

std::vector<verifyd::HostPort> RedisCluster::seeds() const {
    std::vector<verifyd::HostPort> seeds;
    for (int port : ports_) {
        seeds.push_back({"127.0.0.1", port});
    }
    return seeds;
}

size_t RedisCluster::node_of_port(int port) const {
    auto found = std::find(ports_.begin(), ports_.end(), port);
    if (found == ports_.end()) {
        throw std::runtime_error("no node of the cluster listens on " + std::to_string(port));
    }
    return static_cast<size_t>(found - ports_.begin());
}

RedisValue RedisCluster::node_command(size_t node, const std::vector<std::string>& args) const {
    return redis_command(node_port(node), args, std::chrono::seconds(5), options_.password);
}

std::string RedisCluster::node_id(size_t node) const {
    return node_command(node, {"CLUSTER", "MYID"}).str;
}

size_t RedisCluster::first_alive() const {
    for (size_t node = 0; node < nodes_.size(); ++node) {
        if (alive(node)) {
            return node;
        }
    }
    throw std::runtime_error("no node of the cluster is alive");
}

std::vector<int> RedisCluster::primary_ports() const {
    std::vector<int> ports;
    for (const auto& [first, last, port] :
         slot_ranges(node_command(first_alive(), {"CLUSTER", "SLOTS"}))) {
        if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
            ports.push_back(static_cast<int>(port));
        }
    }
    return ports;
}

std::optional<size_t> RedisCluster::primary_of(int slot) const {
    for (const auto& [first, last, port] :
         slot_ranges(node_command(first_alive(), {"CLUSTER", "SLOTS"}))) {
        if (first <= slot && slot <= last) {
            return node_of_port(static_cast<int>(port));
        }
    }
    return std::nullopt;
}

std::optional<size_t> RedisCluster::replica_of(size_t primary) const {
    for (size_t node = 0; node < nodes_.size(); ++node) {
        if (node == primary || !alive(node)) {
            continue;
        }
        // ROLE of a replica: "slave", its primary's host and port, link state, offset.
        RedisValue role = node_command(node, {"ROLE"});
        if (role.elements.size() >= 3 && role.elements[0].str == "slave" &&
            role.elements[2].integer == node_port(primary)) {
            return node;
        }
    }
    return std::nullopt;
}

void RedisCluster::kill(size_t node) {
    nodes_.at(node)->kill();
}

bool RedisCluster::alive(size_t node) const {
    return nodes_.at(node)->running();
}

bool RedisCluster::reshard(size_t from, size_t to, int slots, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto left = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    };
    // redis-cli refuses a cluster whose nodes do not agree yet.
    if (!wait_until_ok(left())) {
        return false;
    }
    std::vector<std::string> args;
    if (!options_.password.empty()) {
        args = {"-a", options_.password, "--no-auth-warning"};
    }
    args.insert(args.end(), {"--cluster", "reshard", "127.0.0.1:" + std::to_string(node_port(from)),
                             "--cluster-from", node_id(from), "--cluster-to", node_id(to),
                             "--cluster-slots", std::to_string(slots), "--cluster-yes"});
    RunResult result =
        run_process(redis_cli_binary(), args, Environment{}, dir_.file("reshard.log"), left());
    if (result.timed_out || !result.status.exited || result.status.code != 0) {
        return false;
    }
    return wait_until_ok(left());
}

bool RedisCluster::ok() const {
    std::optional<std::vector<SlotRange>> agreed;
    std::vector<int> live_ports;
    for (size_t node = 0; node < nodes_.size(); ++node) {
        if (alive(node)) {
            live_ports.push_back(ports_[node]);
        }
    }
    try {
        for (size_t node = 0; node < nodes_.size(); ++node) {
            if (!alive(node)) {
                continue;
            }
            if (node_command(node, {"CLUSTER", "INFO"}).str.find("cluster_state:ok") ==
                std::string::npos) {
                return false;
            }
            std::vector<SlotRange> ranges = slot_ranges(node_command(node, {"CLUSTER", "SLOTS"}));
            long long covered = 0;
            bool primary = false;
            for (const auto& [first, last, port] : ranges) {
                covered += last - first + 1;
                primary = primary || port == ports_[node];
                if (std::find(live_ports.begin(), live_ports.end(), port) == live_ports.end()) {
                    return false;
                }
            }
            if (covered != kSlots || (agreed && *agreed != ranges)) {
                return false;
            }
            agreed = ranges;
            // ROLE of a primary: "master", its offset, [[ip, port, acknowledged offset], …];
            // of a replica: "slave", host, port, link state, offset. Under writes a
            // replica's acknowledged offset trails its primary's by a second's writes, so
            // a replica is in sync once its link is up.
            RedisValue role = node_command(node, {"ROLE"});
            if (primary) {
                if (role.elements.size() < 3 || role.elements[0].str != "master") {
                    return false;
                }
            } else if (role.elements.size() < 4 || role.elements[0].str != "slave" ||
                       role.elements[3].str != "connected") {
                return false;
            }
        }
    } catch (const std::runtime_error&) {
        return false;
    }
    return agreed.has_value();
}

bool RedisCluster::wait_until_ok(std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (ok()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(kClusterPoll);
    }
}

std::string RedisCluster::logs() const {
    std::ostringstream out;
    for (size_t node = 0; node < nodes_.size(); ++node) {
        out << "--- cluster node " << node << " (port " << ports_[node]
            << (alive(node) ? "" : ", killed") << ") ---\n"
            << server_log_end(nodes_[node]->log()) << "\n";
    }
    return out.str();
}

}  // namespace verifyd_test
