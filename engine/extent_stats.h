// ExtentStats: what the profiler remembers about one tracked extent, in exactly 64 bytes.
//
// Access counts live in a ring of kBuckets fixed-width time buckets (u16, saturating); the ring
// slot of bucket n is n % kBuckets and the newest bucket is the one holding `last_tick`. Times
// are engine ticks (kTickUs each, u32: 497 days). The read/write mix and sequentiality are
// decayed shares (u8). An "episode" is a run of accesses without an idle gap longer than the
// configured episode gap; an episode of at least kSubstantialEpisode accesses is substantial.
// The start of the latest substantial episode (the anchor) and the distance between the last
// two substantial starts (the extent's own period, in buckets) let the recurrence forecaster see
// an extent that returns every period, undisturbed by stray accesses in between. The initiator
// set is compact: the first initiator's compact id plus a "shared" bit once a second initiator
// shows up.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "engine/extent_key.h"

namespace rbdtier {

inline constexpr std::uint64_t kTickUs = 10'000;  // 10 ms
inline constexpr std::uint32_t to_tick(std::uint64_t time_us) {
    return static_cast<std::uint32_t>(time_us / kTickUs) + 1;  // 0 = never
}
inline constexpr std::uint64_t tick_to_us(std::uint32_t tick) {
    return tick == 0 ? 0 : static_cast<std::uint64_t>(tick - 1) * kTickUs;
}

inline constexpr int kBuckets = 16;
inline constexpr std::uint16_t kSubstantialEpisode = 4;
inline constexpr std::uint16_t kSharedInitiator = 0x8000;

struct ExtentStats {
    ExtentKey key = kNoExtent;
    std::array<std::uint16_t, kBuckets> buckets{};  // access counts per time bucket (ring)
    std::uint32_t last_tick = 0;                    // last access; 0 = never accessed
    std::uint32_t episode_start = 0;                // tick of the current episode's first access
    std::uint32_t anchor_start = 0;                 // tick: start of the last substantial episode
    std::uint16_t period_buckets = 0;               // between the last two substantial starts
    std::uint16_t mib = 0;                          // bytes accessed / 1 MiB (saturating)
    std::uint16_t initiator = 0;                    // compact id + 1; | kSharedInitiator
    std::uint16_t episode_count = 0;                // accesses in the current episode
    std::uint16_t anchor_count = 0;                 // accesses in the last finished substantial one
    std::uint8_t write_share = 0;                   // decayed share of writes, 0..255
    std::uint8_t sequential_share = 0;              // decayed share of sequential accesses

    double write_fraction() const { return write_share / 255.0; }
    double sequential_fraction() const { return sequential_share / 255.0; }

    bool empty() const { return key == kNoExtent; }

    // Count of bucket `n` (absolute bucket number); 0 outside the remembered window.
    std::uint32_t count_in_bucket(std::uint64_t n, std::uint32_t bucket_ticks) const {
        if (last_tick == 0) return 0;
        const std::uint64_t newest = last_tick / bucket_ticks;
        if (n > newest || newest - n >= kBuckets) return 0;
        return buckets[n % kBuckets];
    }

    // The kBuckets counts ending at bucket `now_bucket`, oldest first.
    void series(std::uint64_t now_bucket, std::uint32_t bucket_ticks,
                std::array<float, kBuckets>& out) const {
        for (int i = 0; i < kBuckets; ++i) {
            const std::uint64_t n = now_bucket + 1 + i;  // shifted to avoid underflow
            out[i] = n < kBuckets ? 0.0f
                                  : static_cast<float>(count_in_bucket(n - kBuckets, bucket_ticks));
        }
    }

    // One access at `tick`. Out-of-order ticks (older than last_tick) are counted in their
    // bucket when it is still remembered.
    void record(std::uint32_t tick, std::uint32_t bucket_ticks, std::uint32_t episode_gap_ticks,
                bool write, std::uint32_t length, std::uint16_t initiator_id,
                bool sequential_access) {
        const std::uint64_t b = tick / bucket_ticks;
        bool too_old = false;
        if (last_tick == 0) {
            buckets.fill(0);
            episode_start = tick;
            episode_count = 0;
        } else {
            const std::uint64_t newest = last_tick / bucket_ticks;
            if (b > newest) {
                const std::uint64_t clear = std::min<std::uint64_t>(b - newest, kBuckets);
                for (std::uint64_t i = 1; i <= clear; ++i) buckets[(newest + i) % kBuckets] = 0;
            } else if (newest - b >= kBuckets) {
                too_old = true;
            }
            if (tick > last_tick && tick - last_tick > episode_gap_ticks) {
                if (episode_count >= kSubstantialEpisode) anchor_count = episode_count;
                episode_start = tick;
                episode_count = 0;
            }
        }
        if (!too_old) {
            auto& c = buckets[b % kBuckets];
            if (c != 0xFFFF) ++c;
        }
        if (tick > last_tick) last_tick = tick;
        if (episode_count != 0xFFFF) ++episode_count;
        if (episode_count == kSubstantialEpisode && episode_start != anchor_start) {
            if (anchor_start != 0 && episode_start > anchor_start) {
                const std::uint32_t p =
                    (episode_start - anchor_start + bucket_ticks / 2) / bucket_ticks;
                period_buckets = static_cast<std::uint16_t>(std::min<std::uint32_t>(p, 0xFFFF));
            }
            anchor_start = episode_start;
        }
        // Bytes in MiB: whole MiB, plus one more with probability (remainder / 1 MiB), decided
        // by a hash of tick and key (deterministic, unbiased over many accesses).
        const std::uint32_t whole = length >> 20;
        const std::uint32_t part = length & ((1u << 20) - 1);
        const std::uint32_t add = whole + ((mix_key(tick ^ key) & ((1u << 20) - 1)) < part ? 1 : 0);
        mib = static_cast<std::uint16_t>(std::min<std::uint32_t>(0xFFFFu, mib + add));
        // Shares decay by 1/8 per access (integer EWMA toward 0 or 255).
        write_share =
            static_cast<std::uint8_t>(write_share + ((write ? 255 : 0) - write_share) / 8);
        sequential_share = static_cast<std::uint8_t>(
            sequential_share + ((sequential_access ? 255 : 0) - sequential_share) / 8);
        const std::uint16_t id = static_cast<std::uint16_t>((initiator_id % 0x7FFF) + 1);
        if (initiator == 0)
            initiator = id;
        else if ((initiator & 0x7FFF) != id)
            initiator |= kSharedInitiator;
    }
};
static_assert(sizeof(ExtentStats) == 64, "ExtentStats must stay one cache line");

}  // namespace rbdtier
