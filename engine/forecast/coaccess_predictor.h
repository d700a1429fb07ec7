// CoAccessPredictor: extent B tends to follow extent A within a window; when A becomes active,
// predict B.
//
// Fed with episode starts (an extent becoming active after an idle gap), in time order. Each
// start of B credits every recent start A (same LUN, within `window_us`, at most the last
// kRecent starts) with "A -> B". The association table is bounded: at most `max_sources`
// sources, each keeping its kFollowers strongest followers (a newcomer replaces the weakest and
// starts from zero). When it is full, the older half of the sources (by their last start) is
// forgotten, so the table follows what the LUNs do now instead of freezing on the first ones.
// predict() turns the sources that started since the previous predict() into forecasts for their
// followers with confidence count(A->B) / episodes(A), when that reaches `min_confidence`.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/forecast/forecast.h"

namespace rbdtier {

class CoAccessPredictor {
public:
    static constexpr std::size_t kFollowers = 4;
    static constexpr std::size_t kRecent = 32;

    CoAccessPredictor(std::size_t max_sources = 1 << 18, std::uint64_t window_us = 10'000'000,
                      double min_confidence = 0.3)
        : max_sources_(max_sources), window_us_(window_us), min_confidence_(min_confidence) {}

    void observe_episode_start(ExtentKey key, std::uint64_t time_us);
    void predict(std::vector<ExtentForecast>& out);
    // Confidence of "a -> b" (0 when unknown).
    double confidence(ExtentKey a, ExtentKey b) const;
    std::size_t sources() const { return table_.size(); }
    std::size_t memory_bytes() const { return table_.size() * (sizeof(Source) + 32); }
    // The last start of `key` as a source (0 when it is not one).
    std::uint64_t last_start_us(ExtentKey key) const {
        auto it = table_.find(key);
        return it == table_.end() ? 0 : it->second.last_start_us;
    }

private:
    void forget_older_half();
    struct Follower {
        ExtentKey key = kNoExtent;
        float count = 0;
    };
    struct Source {
        std::uint32_t episodes = 0;
        std::uint64_t last_start_us = 0;
        std::array<Follower, kFollowers> followers{};
    };
    struct Start {
        ExtentKey key = kNoExtent;
        std::uint64_t time_us = 0;
    };

    std::size_t max_sources_;
    std::uint64_t window_us_;
    double min_confidence_;
    std::unordered_map<ExtentKey, Source> table_;
    std::array<Start, kRecent> recent_{};
    std::size_t recent_pos_ = 0;
    std::vector<ExtentKey> started_;  // sources started since the last predict()
};

}  // namespace rbdtier
