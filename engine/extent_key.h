// ExtentKey: one extent of one LUN packed into 64 bits, the key of every per-extent table.
//
// Layout: LUN id in the top 24 bits, extent index in the low 40 bits (2^40 extents of 4 MiB is
// 4 EiB per LUN, far beyond any RBD image). kNoExtent is never a valid key (LUN 0xFFFFFF with
// the last extent index) and marks empty slots.
#pragma once

#include <cstdint>

#include "engine/io_event.h"

namespace rbdtier {

using ExtentKey = std::uint64_t;

inline constexpr int kExtentBits = 40;
inline constexpr ExtentKey kNoExtent = ~ExtentKey{0};

constexpr ExtentKey make_extent_key(LunId lun, ExtentIndex extent) {
    return (static_cast<ExtentKey>(lun & 0xFFFFFFu) << kExtentBits) |
           (extent & ((ExtentKey{1} << kExtentBits) - 1));
}
constexpr LunId key_lun(ExtentKey key) {
    return static_cast<LunId>(key >> kExtentBits);
}
constexpr ExtentIndex key_extent(ExtentKey key) {
    return key & ((ExtentKey{1} << kExtentBits) - 1);
}

// A cheap, well-mixing hash for open addressing (splitmix64 finalizer).
constexpr std::uint64_t mix_key(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace rbdtier
