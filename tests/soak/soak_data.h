// soak_data: what the soak driver and its gateway processes agree on without sending bytes —
// the content of a write from its seed, and a block's fingerprint.
//
// block_pattern(seed, n) gives n bytes determined by seed alone (xorshift64*); fingerprint()
// is FNV-1a 64 of one block. Header-only, pure, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace rbdtier::soak {

inline std::vector<char> block_pattern(std::uint64_t seed, std::size_t n) {
    std::vector<char> out(n);
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (std::size_t i = 0; i < n; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        const std::uint64_t v = x * 0x2545F4914F6CDD1Dull;
        for (std::size_t k = 0; k < 8 && i + k < n; ++k)
            out[i + k] = static_cast<char>(v >> (8 * k));
    }
    return out;
}

inline std::uint64_t fingerprint(const char* p, std::size_t n) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < n; ++i) {
        h ^= static_cast<unsigned char>(p[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

inline std::string to_hex(const char* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(p[i]);
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

inline std::vector<char> from_hex(const std::string& hex) {
    std::vector<char> out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        unsigned v = 0;
        std::sscanf(hex.c_str() + 2 * i, "%2x", &v);
        out[i] = static_cast<char>(v);
    }
    return out;
}

}  // namespace rbdtier::soak
