// Fuzz target: the ids in paths and check bodies (GET /verify/{id}, POST
// /verify/{id}/cancel, GET /messages/{id}, {"id": …}) through parse_record_id with both
// prefixes; an accepted id is its prefix and 44 URL-safe characters, which become Redis
// key names, and it is made back exactly by make_record_id.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "verifyd/redis_keys.hpp"

using verifyd_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string id = verifyd_fuzz::text_of(data, size);
    for (const char* prefix : {verifyd::kVerificationPrefix, verifyd::kMessagePrefix}) {
        const auto ref = verifyd::parse_record_id(id, prefix);
        if (!ref) {
            continue;
        }
        require(ref->tag.size() == 22 && ref->suffix.size() == 22, "a tag and a suffix of 22");
        const std::string url_safe =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        require((ref->tag + ref->suffix).find_first_not_of(url_safe) == std::string::npos,
                "only URL-safe characters go into key names");
        require(verifyd::make_record_id(prefix, *ref) == id, "an id is made back exactly");
    }
    return 0;
}
