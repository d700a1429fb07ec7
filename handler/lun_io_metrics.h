// LunIoMetrics: what the I/O path of one LUN has served, per tier and direction: commands,
// bytes, and a latency histogram (Prometheus-style cumulative buckets are built at export).
//
// record() is called from I/O completion threads: lock-free (three relaxed atomic additions:
// bytes, latency sum, the latency's bucket; the command count is the buckets' sum), no
// allocation, a handful of nanoseconds. Readers (the metrics endpoint, the admin socket) take
// snapshot()s at any time; counters only grow. Sized for up to kMaxTiers tier images (TierImages
// indexes).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace rbdtier {

class LunIoMetrics {
public:
    static constexpr std::size_t kMaxTiers = 8;
    // Upper bounds of the latency buckets, microseconds (+Inf is implicit).
    static constexpr std::array<std::uint64_t, 12> kBucketsUs = {
        100, 250, 500, 1000, 2500, 5000, 10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000};
    enum Direction : std::size_t { kRead = 0, kWrite = 1 };

    struct Series {
        std::uint64_t ios = 0;
        std::uint64_t bytes = 0;
        std::uint64_t latency_sum_us = 0;
        std::array<std::uint64_t, kBucketsUs.size() + 1> buckets{};  // per bucket, not cumulative
    };

    void record(std::size_t tier, Direction dir, std::uint64_t bytes,
                std::uint64_t latency_us) noexcept {
        if (tier >= kMaxTiers) return;
        Cell& c = cells_[tier][dir];
        c.bytes.fetch_add(bytes, std::memory_order_relaxed);
        c.latency_sum_us.fetch_add(latency_us, std::memory_order_relaxed);
        std::size_t b = 0;
        while (b < kBucketsUs.size() && latency_us > kBucketsUs[b]) ++b;
        c.buckets[b].fetch_add(1, std::memory_order_relaxed);
    }

    Series snapshot(std::size_t tier, Direction dir) const noexcept {
        Series s;
        if (tier >= kMaxTiers) return s;
        const Cell& c = cells_[tier][dir];
        s.bytes = c.bytes.load(std::memory_order_relaxed);
        s.latency_sum_us = c.latency_sum_us.load(std::memory_order_relaxed);
        for (std::size_t b = 0; b < s.buckets.size(); ++b) {
            s.buckets[b] = c.buckets[b].load(std::memory_order_relaxed);
            s.ios += s.buckets[b];
        }
        return s;
    }

private:
    struct Cell {
        std::atomic<std::uint64_t> bytes{0};
        std::atomic<std::uint64_t> latency_sum_us{0};
        std::array<std::atomic<std::uint64_t>, kBucketsUs.size() + 1> buckets{};
    };
    std::array<std::array<Cell, 2>, kMaxTiers> cells_{};
};

}  // namespace rbdtier
