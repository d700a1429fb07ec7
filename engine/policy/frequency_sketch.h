// FrequencySketch: how often each extent was accessed lately, estimated in a few KiB whatever the
// number of extents (a count-min sketch of 4-bit counters with periodic halving, as TinyLFU
// admission uses it).
//
// Each key maps to four counters (one per hash); add() increments those of them that hold the
// key's current estimate (conservative update), estimate() is the least of the four (never below
// the key's true count since the last halving, above it only where keys collide). Every `sample`
// additions, every counter is halved, so that the estimates follow what is frequent now: a key's
// estimate is about its accesses in the last `sample` additions, counting older ones at half
// weight per period. Counters saturate at 15. Not thread-safe: one owner, as PlacementPolicy.
// Memory: counters() / 2 bytes; empty (every estimate 0, additions ignored) until resize().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/extent_key.h"

namespace rbdtier {

class FrequencySketch {
public:
    static constexpr unsigned kMaxCount = 15;  // where a counter saturates

    // Sets the number of counters (rounded up to a power of two, at least 64) and the additions
    // between halvings (at least one). Fewer counters than now: each new counter takes the
    // largest of the old ones that fold onto it, so no estimate falls below a true count; more:
    // the sketch starts empty.
    void resize(std::size_t counters, std::uint64_t sample) {
        std::size_t n = 64;
        while (n < counters) n *= 2;
        sample_ = std::max<std::uint64_t>(sample, 1);
        if (n == this->counters()) return;
        if (n < this->counters()) {
            std::vector<std::uint64_t> folded(n / kPerWord, 0);
            for (std::size_t c = 0; c < this->counters(); ++c) {
                const std::size_t to = c & (n - 1);
                const unsigned value = get(c);
                const unsigned shift = 4 * (to % kPerWord);
                std::uint64_t& w = folded[to / kPerWord];
                if (value > ((w >> shift) & 0xF))
                    w = (w & ~(std::uint64_t{0xF} << shift)) | (std::uint64_t{value} << shift);
            }
            words_ = std::move(folded);
        } else {
            words_.assign(n / kPerWord, 0);
            additions_ = 0;
        }
        mask_ = n - 1;
    }
    std::size_t counters() const { return words_.size() * kPerWord; }
    std::uint64_t sample() const { return sample_; }

    void add(std::uint64_t key) {
        if (words_.empty()) return;
        const unsigned current = estimate(key);
        if (current < kMaxCount)
            for (unsigned row = 0; row < kRows; ++row) {
                const std::size_t c = counter_index(key, row);
                if (get(c) == current) set(c, current + 1);
            }
        if (++additions_ >= sample_) halve();
    }
    unsigned estimate(std::uint64_t key) const {
        if (words_.empty()) return 0;
        unsigned least = kMaxCount;
        for (unsigned row = 0; row < kRows; ++row)
            least = std::min(least, get(counter_index(key, row)));
        return least;
    }

private:
    static constexpr unsigned kRows = 4;
    static constexpr unsigned kPerWord = 16;  // 4-bit counters in a 64-bit word

    std::size_t counter_index(std::uint64_t key, unsigned row) const {
        // One mix of the key per row, each row with its own seed.
        const std::uint64_t h = mix_key(key ^ (0x9e3779b97f4a7c15ULL * (row + 1)));
        return static_cast<std::size_t>(h) & mask_;
    }
    unsigned get(std::size_t c) const {
        return static_cast<unsigned>(words_[c / kPerWord] >> (4 * (c % kPerWord))) & 0xF;
    }
    void set(std::size_t c, unsigned value) {
        const unsigned shift = 4 * (c % kPerWord);
        std::uint64_t& w = words_[c / kPerWord];
        w = (w & ~(std::uint64_t{0xF} << shift)) | (std::uint64_t{value} << shift);
    }
    void halve() {
        for (std::uint64_t& w : words_) w = (w >> 1) & 0x7777777777777777ULL;
        additions_ = 0;
    }

    std::vector<std::uint64_t> words_;
    std::size_t mask_ = 0;
    std::uint64_t sample_ = 1;
    std::uint64_t additions_ = 0;
};

}  // namespace rbdtier
