// Redis Cluster's hash slots (redis_slots.hpp), computed as the cluster specification
// says: bit by bit, since no key is long enough for a table to pay.
#include "verifyd/redis_slots.hpp"

namespace verifyd {

uint16_t crc16_xmodem(std::string_view bytes) {
    uint16_t crc = 0;
    for (unsigned char byte : bytes) {
        crc ^= static_cast<uint16_t>(byte) << 8;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                 : static_cast<uint16_t>(crc << 1);
    }
    return crc;
}

int redis_slot(std::string_view key) {
    const size_t open = key.find('{');
    if (open != std::string_view::npos) {
        const size_t close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return crc16_xmodem(key) % kRedisSlots;
}

}  // namespace verifyd
