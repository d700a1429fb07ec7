// RoundScores: what a planning round needs of the scores of every tracked extent, without
// holding them all.
//
// The scores of a round (CostBenefit::score's vector: every extent of the table whose value or
// forecast is above min_value, or which is away from home, in slot order; then the extras the
// round appends) are addressed by their position in that sequence, exactly as in the vector, but
// only three things are stored: the scores a `keep` predicate selects (in order: the scheduler's
// residents and candidates), the forecast of every position (4 bytes each), and which slots of the
// table scored in (one bit per slot). A score that was not kept is computed again on demand by
// at(): score_extent() is a pure function of the extent's statistics and the scoring context, so
// it is the same score as long as the table and the context do not change in between (the
// caller's duty). score() runs the kernel in parallel with TBB (fixed blocks of slots, no locks)
// or serially, with the same result. Not thread-safe; one round owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/cost_benefit.h"

namespace rbdtier {

class RoundScores {
public:
    using Keep = std::function<bool(const ExtentScore&)>;

    // Scores every extent of `table` (replacing what was held): see the header.
    void score(const ExtentTable& table, const ScoringContext& ctx, float min_value, bool parallel,
               const Keep& keep);
    // Appends `s` at position size(); it is kept when `kept` says so.
    void append(const ExtentScore& s, bool kept);

    // How many scores there are (the length of CostBenefit::score's vector plus the appended).
    std::size_t size() const { return forecasts_.size(); }
    float forecast(std::size_t position) const { return forecasts_[position]; }
    // The score at `position` (position < size()).
    ExtentScore at(std::size_t position) const;
    // The kept scores, in position order (mutable: the round may adjust them before scheduling).
    std::vector<ExtentScore>& kept() { return kept_; }
    const std::vector<ExtentScore>& kept() const { return kept_; }

    static constexpr std::size_t kBlock = 16384;  // slots per parallel block

private:
    const ExtentTable* table_ = nullptr;
    const ScoringContext* ctx_ = nullptr;
    std::size_t table_scores_ = 0;           // positions [0, table_scores_) are table slots
    std::vector<std::size_t> block_offset_;  // first position of each block (blocks + 1)
    std::vector<std::uint64_t> scored_in_;   // bit per slot: its score is in the sequence
    std::vector<float> forecasts_;           // per position
    std::vector<ExtentScore> appended_;      // positions [table_scores_, size())
    std::vector<ExtentScore> kept_;
};

}  // namespace rbdtier
