// ExtentStats: what the profiler remembers about one tracked extent, in exactly 40 bytes.
//
// Access counts live in a ring of kBuckets fixed-width time buckets (one-byte LogCounter codes:
// exact up to 15, then within 1/16, unbiased); the ring slot of bucket n is n % kBuckets and the
// newest bucket is the one holding `last_tick`. Times are engine ticks (kTickUs each, u32: 497
// days). The read/write mix and sequentiality are decayed shares (u8); bytes are a LogCounter of
// MiB. An "episode" is a run of accesses without an idle gap longer than the configured episode
// gap; it starts episode_span ticks before last_tick (a 16-bit float: exact up to 8191 ticks,
// then each addition rounded without bias to a step of 1/4096 of the span, up to 15 days). An
// episode of at least kSubstantialEpisode accesses is substantial. The start of the latest
// substantial episode (the anchor) and the distance between the last two substantial starts (the
// extent's own period, in buckets) let the recurrence forecaster see an extent that returns every
// period, undisturbed by stray accesses in between. The initiator set is compact: the first
// initiator's compact id (7 bits) plus a "shared" bit once a second initiator shows up. Random
// decisions (LogCounter) come from a hash of the key, the tick and the episode's count:
// deterministic for a given sequence of accesses.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "engine/extent_key.h"
#include "engine/log_counter.h"

namespace rbdtier {

inline constexpr std::uint64_t kTickUs = 10'000;  // 10 ms
inline constexpr std::uint32_t to_tick(std::uint64_t time_us) {
    return static_cast<std::uint32_t>(time_us / kTickUs) + 1;  // 0 = never
}
inline constexpr std::uint64_t tick_to_us(std::uint32_t tick) {
    return tick == 0 ? 0 : static_cast<std::uint64_t>(tick - 1) * kTickUs;
}

inline constexpr int kBuckets = 12;
inline constexpr std::uint16_t kSubstantialEpisode = 4;
inline constexpr std::uint8_t kSharedInitiator = 0x80;

struct ExtentStats {
    static constexpr std::uint16_t kAnchorCurrent = 0x8000;  // in period_flags
    static constexpr std::uint16_t kPeriodMask = 0x7FFF;

    ExtentKey key = kNoExtent;
    std::uint32_t last_tick = 0;                        // last access; 0 = never accessed
    std::uint32_t anchor_start = 0;                     // start of the last substantial episode
    std::array<std::uint8_t, kBuckets> bucket_codes{};  // LogCounter codes per bucket (ring)
    std::uint16_t episode_span = 0;     // ticks from the episode's start to last_tick (span code)
    std::uint16_t period_flags = 0;     // period in buckets (15 bits) | kAnchorCurrent
    std::uint16_t episode_count = 0;    // accesses in the current episode (saturating)
    std::uint16_t anchor_count = 0;     // accesses in the last finished substantial episode
    std::uint8_t initiator = 0;         // compact id + 1 (7 bits) | kSharedInitiator
    std::uint8_t mib_code = 0;          // LogCounter of the MiB accessed
    std::uint8_t write_share = 0;       // decayed share of writes, 0..255
    std::uint8_t sequential_share = 0;  // decayed share of sequential accesses

    double write_fraction() const { return write_share / 255.0; }
    double sequential_fraction() const { return sequential_share / 255.0; }
    bool empty() const { return key == kNoExtent; }

    // (Rounding may make the span a little longer than the time since tick 1: clamped there.)
    std::uint32_t episode_start() const {
        const std::uint32_t span = decode_span(episode_span);
        return span < last_tick ? last_tick - span : std::min<std::uint32_t>(last_tick, 1);
    }

    // Span code: e = code >> 12, m = code & 0xFFF; e == 0: m ticks, else (4096 + m) << (e - 1).
    static constexpr std::uint32_t decode_span(std::uint16_t code) {
        const std::uint32_t e = code >> 12, m = code & 0xFFFu;
        return e == 0 ? m : (4096u + m) << (e - 1);
    }
    // The code of `ticks`, rounded up with probability (remainder / step) by `random`.
    static constexpr std::uint16_t encode_span(std::uint64_t ticks, std::uint64_t random) {
        if (ticks < 8192) return static_cast<std::uint16_t>(ticks);
        std::uint32_t shift = 1;
        while ((ticks >> shift) >= 8192) ++shift;
        if (shift > 14) return 0xFFFF;
        const std::uint64_t step = std::uint64_t{1} << shift;
        std::uint64_t mant = ticks >> shift;
        if ((random & (step - 1)) < (ticks & (step - 1))) ++mant;
        if (mant == 8192) {
            mant = 4096;
            ++shift;
            if (shift > 14) return 0xFFFF;
        }
        return static_cast<std::uint16_t>(((shift + 1) << 12) | (mant - 4096));
    }
    std::uint16_t period_buckets() const { return period_flags & kPeriodMask; }
    // True while the anchor (last substantial episode) is the current episode.
    bool anchor_is_current() const { return (period_flags & kAnchorCurrent) != 0; }
    std::uint32_t mib() const { return LogCounter::decode(mib_code); }
    // Decoded count of ring slot `slot`.
    float bucket(std::size_t slot) const { return kLogCounterValues[bucket_codes[slot]]; }

    // Count of bucket `n` (absolute bucket number); 0 outside the remembered window.
    std::uint32_t count_in_bucket(std::uint64_t n, std::uint32_t bucket_ticks) const {
        if (last_tick == 0) return 0;
        const std::uint64_t newest = last_tick / bucket_ticks;
        if (n > newest || newest - n >= kBuckets) return 0;
        return LogCounter::decode(bucket_codes[n % kBuckets]);
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
            bucket_codes.fill(0);
            episode_span = 0;
            episode_count = 0;
            last_tick = tick;
        } else {
            const std::uint64_t newest = last_tick / bucket_ticks;
            if (b > newest) {
                const std::uint64_t clear = std::min<std::uint64_t>(b - newest, kBuckets);
                for (std::uint64_t i = 1; i <= clear; ++i)
                    bucket_codes[(newest + i) % kBuckets] = 0;
            } else if (newest - b >= kBuckets) {
                too_old = true;
            }
            if (tick > last_tick) {
                if (tick - last_tick > episode_gap_ticks) {
                    if (episode_count >= kSubstantialEpisode) anchor_count = episode_count;
                    period_flags &= kPeriodMask;  // the anchor is now a finished episode
                    episode_span = 0;
                    episode_count = 0;
                } else {
                    episode_span =
                        encode_span(std::uint64_t{decode_span(episode_span)} + (tick - last_tick),
                                    mix_key(key ^ tick));
                }
                last_tick = tick;
            }
        }
        const std::uint64_t random = mix_key(key ^ (static_cast<std::uint64_t>(tick) << 20) ^
                                             (static_cast<std::uint64_t>(episode_count) << 52));
        if (!too_old) LogCounter::increment(bucket_codes[b % kBuckets], random);
        if (episode_count != 0xFFFF) ++episode_count;
        if (episode_count == kSubstantialEpisode && !anchor_is_current()) {
            const std::uint32_t start = episode_start();
            if (anchor_start != 0 && start > anchor_start) {
                const std::uint32_t p = (start - anchor_start + bucket_ticks / 2) / bucket_ticks;
                period_flags = static_cast<std::uint16_t>(std::min<std::uint32_t>(p, kPeriodMask));
            }
            anchor_start = start;
            period_flags |= kAnchorCurrent;
        }
        // Bytes in MiB, unbiased (LogCounter).
        LogCounter::add(mib_code, static_cast<double>(length) / (1 << 20), random >> 7);
        // Shares decay by 1/8 per access (integer EWMA toward 0 or 255).
        write_share =
            static_cast<std::uint8_t>(write_share + ((write ? 255 : 0) - write_share) / 8);
        sequential_share = static_cast<std::uint8_t>(
            sequential_share + ((sequential_access ? 255 : 0) - sequential_share) / 8);
        const std::uint8_t id = static_cast<std::uint8_t>((initiator_id % 0x7F) + 1);
        if (initiator == 0)
            initiator = id;
        else if ((initiator & 0x7F) != id)
            initiator |= kSharedInitiator;
    }
};
static_assert(sizeof(ExtentStats) == 40, "ExtentStats must stay 40 bytes");

}  // namespace rbdtier
