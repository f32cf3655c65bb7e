// Redis Cluster's routing facts (docs/API.md §12): a node's address, which primary serves
// each of the 16384 hash slots (SlotMap, from CLUSTER SLOTS), and what a redirecting error
// reply says (MOVED, ASK, TRYAGAIN, CLUSTERDOWN). Plain values, no I/O: the router and the
// blocking cluster client both route by them. Not for: which slot a key is in
// (redis_slots.hpp), sending commands or following redirects (redis_cluster.hpp,
// redis_router.hpp); nothing here is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct redisReply;

namespace verifyd {

struct ClusterNode {
    std::string host;  // empty: the node that gave the address (see parse_redirect)
    int port = 0;

    // "host:port", or "[host]:port" for an IPv6 address.
    std::string name() const;
    bool operator==(const ClusterNode& other) const {
        return port == other.port && host == other.host;
    }
    bool operator!=(const ClusterNode& other) const { return !(*this == other); }
};

// The primary of every slot, as one node told it. 16384 small indices into a table of
// the nodes, so a copy is cheap and a lookup is two loads.
class SlotMap {
  public:
    // No slot has a primary yet.
    SlotMap();
    // From a CLUSTER SLOTS reply: [[first, last, [host, port, id, …], replicas…], …]. A
    // primary whose host is empty is `answering`, the node asked; one whose address the
    // node does not know ("?") serves nothing. Nothing when the reply has another shape.
    static std::optional<SlotMap> from_reply(const redisReply* reply,
                                             const ClusterNode& answering = {});

    std::optional<ClusterNode> primary(int slot) const;
    // After MOVED: `slot` is now `node`'s.
    void move(int slot, const ClusterNode& node);
    // Every one of the 16384 slots has a primary.
    bool complete() const;
    // The nodes serving at least one slot, each once, in the order they were first named.
    std::vector<ClusterNode> primaries() const;

  private:
    static constexpr uint16_t kNone = 0xffff;
    uint16_t index_of(const ClusterNode& node);

    std::vector<ClusterNode> nodes_;
    std::vector<uint16_t> slots_;  // index into nodes_, or kNone
};

// What an error reply asks of a cluster client.
struct Redirect {
    enum class Kind { None, Moved, Ask, TryAgain, ClusterDown };
    Kind kind = Kind::None;
    int slot = -1;     // MOVED and ASK only
    ClusterNode node;  // MOVED and ASK only; an empty host means the node that answered
};

// How many MOVED or ASK one call follows before it fails: a slot map that keeps pointing
// elsewhere is a cluster being reconfigured, which the caller's retry outlives.
constexpr int kMaxClusterRedirects = 5;

// "MOVED 3999 127.0.0.1:6381", "ASK 3999 [::1]:6381" (also "::1:6381", "host:6381",
// ":6381"), "TRYAGAIN …", "CLUSTERDOWN …"; anything else, or a MOVED or ASK that does not
// parse, is None: the error is the command's own.
Redirect parse_redirect(const std::string& error_message);

}  // namespace verifyd
