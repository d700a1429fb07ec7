// LogCounter: an approximate, unbiased counter in one byte (a Morris-style log counter).
//
// Codes 0..15 stand for the values 0..15 exactly; above, a code is a 4-bit exponent e (1..15)
// and a 4-bit mantissa m, standing for (16 + m) << (e - 1): a relative step of 1/16 up to
// 507904. add() moves the code up by whole steps, and by one more step with probability
// (remainder / step), decided by the caller's 64-bit random word: the expected decoded value
// grows by exactly the amount added. Saturates at the largest code.
#pragma once

#include <array>
#include <cstdint>

namespace rbdtier {

struct LogCounter {
    static constexpr std::uint32_t step(std::uint8_t code) {
        return code < 32 ? 1u : 1u << ((code >> 4) - 1);
    }
    static constexpr std::uint32_t decode(std::uint8_t code) {
        return code < 16 ? code : (16u + (code & 15u)) << ((code >> 4) - 1);
    }
    // Decoded values of all 256 codes, for tight loops.
    static constexpr std::array<float, 256> table() {
        std::array<float, 256> t{};
        for (int c = 0; c < 256; ++c)
            t[c] = static_cast<float>(decode(static_cast<std::uint8_t>(c)));
        return t;
    }
    // Adds `amount` (>= 0) to the counter `code`; `random` is a uniformly random word.
    static void add(std::uint8_t& code, double amount, std::uint64_t random) {
        while (code != 0xFF) {
            const double s = step(code);
            if (amount >= s) {
                ++code;
                amount -= s;
                continue;
            }
            const double u = static_cast<double>(random >> 11) * 0x1.0p-53;
            if (u * s < amount) ++code;
            return;
        }
    }
    // Adds one (the common case, without floating point).
    static void increment(std::uint8_t& code, std::uint64_t random) {
        if (code == 0xFF) return;
        const std::uint32_t s = step(code);
        if (s == 1 || (random & (s - 1)) == 0) ++code;
    }
};

inline constexpr std::array<float, 256> kLogCounterValues = LogCounter::table();

}  // namespace rbdtier
