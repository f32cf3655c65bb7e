// Codes, ids and hashes from libsodium. Inputs to keyed hashes are framed with a
// purpose label and NUL separators so that no two purposes or field splits collide.
#include "verifyd/crypto.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace verifyd {
namespace {

std::string keyed_hash(const HashKey& key, std::string_view purpose,
                       std::initializer_list<std::string_view> fields, size_t out_bytes) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.data(), key.size(), out_bytes);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(purpose.data()),
                              purpose.size());
    for (std::string_view field : fields) {
        const unsigned char separator = 0;
        crypto_generichash_update(&state, &separator, 1);
        crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(field.data()),
                                  field.size());
    }
    std::string out(out_bytes, '\0');
    crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(out.data()), out_bytes);
    return out;
}

std::string base64url(std::string_view bytes) {
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      bytes.size(), variant);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
    // Padding is optional in what people paste; the decoder wants it, or none at all.
    std::string_view unpadded = text;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
    std::string out(unpadded.size() * 3 / 4 + 1, '\0');
    size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), unpadded.data(),
                          unpadded.size(), nullptr, &length, &end,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
        end != unpadded.data() + unpadded.size())
        return std::nullopt;
    out.resize(length);
    return out;
}

void init_crypto() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string generate_code(int length) {
    // One draw of random bytes for all digits rather than a system call per digit: a
    // byte below 250 (25 × 10) gives a uniform digit; the rare byte above is skipped.
    std::string code;
    code.reserve(static_cast<size_t>(length));
    unsigned char drawn[32];
    while (code.size() < static_cast<size_t>(length)) {
        randombytes_buf(drawn, sizeof drawn);
        for (unsigned char byte : drawn) {
            if (byte >= 250) continue;
            code.push_back(static_cast<char>('0' + byte % 10));
            if (code.size() == static_cast<size_t>(length)) break;
        }
    }
    sodium_memzero(drawn, sizeof drawn);
    return code;
}

std::string code_hash(const HashKey& key, std::string_view verification_id, std::string_view code) {
    return keyed_hash(key, "verifyd code", {verification_id, code}, 16);
}

std::string number_tag(const HashKey& key, std::string_view account, bool sandbox,
                       std::string_view number) {
    // Live tags keep the purpose they had before sandbox got tags of its own, so that
    // live numbers keep their limits and verifications across the upgrade.
    return base64url(keyed_hash(key, sandbox ? "verifyd sandbox number" : "verifyd number",
                                {account, number}, 16));
}

std::string name_tag(const HashKey& key, std::string_view purpose,
                     std::initializer_list<std::string_view> fields) {
    return base64url(keyed_hash(key, purpose, fields, 16));
}

std::string key_id(const HashKey& key) {
    unsigned char digest[8];
    static const char purpose[] = "verifyd key id";
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, sizeof digest);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(purpose),
                              sizeof purpose - 1);
    crypto_generichash_update(&state, key.data(), key.size());
    crypto_generichash_final(&state, digest, sizeof digest);
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

namespace {

constexpr std::string_view kNumberKeyLabel = "verifyd number key";

HashKey derive_number_seal_key(const HashKey& hash_key) {
    HashKey key{};
    crypto_kdf_derive_from_key(key.data(), key.size(), 2, "vd_numbr", hash_key.data());
    return key;
}

}  // namespace

std::string seal_number_key(const HashKey& hash_key, const HashKey& number_key) {
    return seal_code(
        derive_number_seal_key(hash_key), kNumberKeyLabel,
        std::string_view(reinterpret_cast<const char*>(number_key.data()), number_key.size()));
}

std::optional<HashKey> open_number_key(const HashKey& hash_key, std::string_view sealed) {
    auto opened = open_code(derive_number_seal_key(hash_key), kNumberKeyLabel, sealed);
    HashKey key{};
    if (!opened || opened->size() != key.size()) return std::nullopt;
    std::copy(opened->begin(), opened->end(), reinterpret_cast<char*>(key.data()));
    sodium_memzero(opened->data(), opened->size());
    return key;
}

std::string request_fingerprint(std::string_view text) {
    std::string out(16, '\0');
    crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr,
                       0);
    return out;
}

std::string random_bytes(size_t count) {
    std::string raw(count, '\0');
    randombytes_buf(raw.data(), raw.size());
    return raw;
}

namespace {

// Random bytes for what every request draws (request ids, verification ids, nonces) from
// a per-thread buffer that one getrandom(2) refills 4 KiB at a time: a system call for
// each would cost more than the rest of making the identifier. Not for keys or codes,
// whose bytes must not wait in a buffer.
void draw_buffered(unsigned char* out, size_t count) {
    thread_local struct {
        unsigned char bytes[4096];
        size_t used = sizeof bytes;
    } pool;
    while (count > 0) {
        if (pool.used == sizeof pool.bytes) {
            randombytes_buf(pool.bytes, sizeof pool.bytes);
            pool.used = 0;
        }
        const size_t taken = std::min(count, sizeof pool.bytes - pool.used);
        std::memcpy(out, pool.bytes + pool.used, taken);
        sodium_memzero(pool.bytes + pool.used, taken);
        pool.used += taken;
        out += taken;
        count -= taken;
    }
}

}  // namespace

std::string random_token(size_t bytes) {
    std::string raw(bytes, '\0');
    draw_buffered(reinterpret_cast<unsigned char*>(raw.data()), raw.size());
    return base64url(raw);
}

std::string random_alphanumeric(size_t length) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(length, '\0');
    for (char& c : out) c = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    return out;
}

std::string api_key_hash(std::string_view key) {
    unsigned char digest[32];
    crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(key.data()),
                       key.size(), nullptr, 0);
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

HashKey derive_seal_key(const HashKey& hash_key) {
    HashKey seal_key{};
    crypto_kdf_derive_from_key(seal_key.data(), seal_key.size(), 1, "vd_seal_", hash_key.data());
    return seal_key;
}

std::string seal_code(const HashKey& seal_key, std::string_view verification_id,
                      std::string_view code) {
    const size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    std::string sealed(nonce_bytes + code.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    auto* out = reinterpret_cast<unsigned char*>(sealed.data());
    draw_buffered(out, nonce_bytes);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out + nonce_bytes, &written, reinterpret_cast<const unsigned char*>(code.data()),
        code.size(), reinterpret_cast<const unsigned char*>(verification_id.data()),
        verification_id.size(), nullptr, out, seal_key.data());
    sealed.resize(nonce_bytes + written);
    return sealed;
}

std::optional<std::string> open_code(const HashKey& seal_key, std::string_view verification_id,
                                     std::string_view sealed) {
    const size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    const size_t tag_bytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (sealed.size() < nonce_bytes + tag_bytes) return std::nullopt;
    const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
    std::string code(sealed.size() - nonce_bytes - tag_bytes, '\0');
    unsigned long long written = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(code.data()), &written, nullptr, in + nonce_bytes,
            sealed.size() - nonce_bytes,
            reinterpret_cast<const unsigned char*>(verification_id.data()), verification_id.size(),
            in, seal_key.data()) != 0)
        return std::nullopt;
    code.resize(written);
    return code;
}

std::string to_hex(std::string_view bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                   bytes.size());
    out.pop_back();
    return out;
}

std::optional<std::string> from_hex(std::string_view hex, size_t size) {
    std::string bytes(size, '\0');
    size_t length = 0;
    const char* end = nullptr;
    if (hex.size() != size * 2 ||
        sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), size, hex.data(), hex.size(),
                       nullptr, &length, &end) != 0 ||
        length != size || end != hex.data() + hex.size())
        return std::nullopt;
    return bytes;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace verifyd
