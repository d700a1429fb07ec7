// What integration tests name and fill their scratch images with: unique_name() a name no other
// test of any process on the cluster uses (the stem, the process id and a count), pattern() bytes
// that are a function of their seed and position, so what is read back can be checked against
// what was written. Thread-safe. Header-only.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rbdtier::test_support {

inline std::string unique_name(const std::string& stem) {
    static std::atomic<unsigned> count{0};
    return stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(count++);
}

// `length` bytes of a xorshift sequence started from `seed`.
inline std::vector<char> pattern(std::size_t length, std::uint32_t seed) {
    std::vector<char> out(length);
    std::uint32_t x = seed * 2654435761u + 1;
    for (char& c : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return out;
}

}  // namespace rbdtier::test_support
