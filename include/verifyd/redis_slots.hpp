// Redis Cluster's hash slots: which of the 16384 slots a key belongs to, by the CRC16 of
// its hash tag (the text between the first '{' and the next '}', when not empty) or of
// the whole key. The rule every script call must keep (docs/API.md §12): all its keys in
// one slot. Not for: routing commands to nodes (redis_router.hpp, redis_cluster.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace verifyd {

constexpr int kRedisSlots = 16384;

// CRC16-XMODEM (polynomial 0x1021, initial value 0), as Redis Cluster hashes keys.
uint16_t crc16_xmodem(std::string_view bytes);

// The slot of `key`: 0 to 16383.
int redis_slot(std::string_view key);

}  // namespace verifyd
