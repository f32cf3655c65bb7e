// The slot map and redirect replies of redis_slot_map.hpp. A map is read whole from
// CLUSTER SLOTS and patched slot by slot after MOVED; an address is parsed the way
// Redis writes it in a redirect (IPv6 in brackets or bare, the host possibly empty).
#include "verifyd/redis_slot_map.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "verifyd/redis_connection.hpp"
#include "verifyd/redis_slots.hpp"
#include "verifyd/text.hpp"

namespace verifyd {
namespace {

bool is_integer(const redisReply* reply) {
    return reply && reply->type == REDIS_REPLY_INTEGER;
}

std::optional<ClusterNode> parse_address(const std::string& address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    auto port = parse_whole_number(address.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) return std::nullopt;
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return ClusterNode{host, static_cast<int>(*port)};
}

}  // namespace

std::string ClusterNode::name() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

SlotMap::SlotMap() : slots_(kRedisSlots, kNone) {}

std::optional<SlotMap> SlotMap::from_reply(const redisReply* reply, const ClusterNode& answering) {
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
    SlotMap map;
    for (size_t i = 0; i < reply->elements; ++i) {
        const redisReply* range = reply->element[i];
        if (!range || range->type != REDIS_REPLY_ARRAY || range->elements < 3) return std::nullopt;
        const redisReply* primary = range->element[2];
        if (!is_integer(range->element[0]) || !is_integer(range->element[1]) || !primary ||
            primary->type != REDIS_REPLY_ARRAY || primary->elements < 2 ||
            !is_integer(primary->element[1]))
            return std::nullopt;
        const long long first = range->element[0]->integer;
        const long long last = range->element[1]->integer;
        if (first < 0 || last >= kRedisSlots || first > last) return std::nullopt;
        ClusterNode node{reply_string(primary->element[0]),
                         static_cast<int>(primary->element[1]->integer)};
        // "?": the node knows a primary serves these slots but not where to reach it.
        if (node.host == "?") continue;
        if (node.host.empty()) node.host = answering.host;
        const uint16_t index = map.index_of(node);
        std::fill(map.slots_.begin() + first, map.slots_.begin() + last + 1, index);
    }
    return map;
}

uint16_t SlotMap::index_of(const ClusterNode& node) {
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i] == node) return static_cast<uint16_t>(i);
    nodes_.push_back(node);
    return static_cast<uint16_t>(nodes_.size() - 1);
}

std::optional<ClusterNode> SlotMap::primary(int slot) const {
    if (slot < 0 || slot >= kRedisSlots || slots_[slot] == kNone) return std::nullopt;
    return nodes_[slots_[slot]];
}

void SlotMap::move(int slot, const ClusterNode& node) {
    if (slot < 0 || slot >= kRedisSlots) return;
    slots_[slot] = index_of(node);
}

bool SlotMap::complete() const {
    return std::find(slots_.begin(), slots_.end(), kNone) == slots_.end();
}

std::vector<ClusterNode> SlotMap::primaries() const {
    std::vector<bool> serving(nodes_.size(), false);
    for (uint16_t index : slots_)
        if (index != kNone) serving[index] = true;
    std::vector<ClusterNode> nodes;
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (serving[i]) nodes.push_back(nodes_[i]);
    return nodes;
}

Redirect parse_redirect(const std::string& error_message) {
    Redirect redirect;
    if (starts_with(error_message, "TRYAGAIN")) {
        redirect.kind = Redirect::Kind::TryAgain;
        return redirect;
    }
    if (starts_with(error_message, "CLUSTERDOWN")) {
        redirect.kind = Redirect::Kind::ClusterDown;
        return redirect;
    }
    const bool moved = starts_with(error_message, "MOVED ");
    if (!moved && !starts_with(error_message, "ASK ")) return redirect;
    const std::vector<std::string> parts = split(error_message, ' ');
    if (parts.size() != 3) return redirect;
    auto slot = parse_whole_number(parts[1]);
    auto node = parse_address(parts[2]);
    if (!slot || *slot >= kRedisSlots || !node) return redirect;
    redirect.kind = moved ? Redirect::Kind::Moved : Redirect::Kind::Ask;
    redirect.slot = static_cast<int>(*slot);
    redirect.node = *node;
    return redirect;
}

}  // namespace verifyd
