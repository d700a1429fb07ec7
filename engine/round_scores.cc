#include "engine/round_scores.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>

namespace rbdtier {

namespace {

constexpr std::size_t kWordsPerBlock = RoundScores::kBlock / 64;
constexpr LunId kDenseLuns = 1u << 20;  // LUN ids below this are looked up in a vector
static_assert(RoundScores::kBlock % 64 == 0, "a block is whole bitmap words");

struct BlockResult {
    std::vector<float> forecasts;
    std::vector<ExtentScore> kept;
};

}  // namespace

void RoundScores::score(const ExtentTable& table, const ScoringContext& ctx, float min_value,
                        bool parallel, const Keep& keep) {
    table_ = &table;
    ctx_ = &ctx;
    const std::size_t n = table.capacity();
    const std::size_t blocks = (n + kBlock - 1) / kBlock;
    scored_in_.assign(blocks * kWordsPerBlock, 0);
    std::vector<BlockResult> parts(blocks);
    // The LUN contexts by id (a LUN's extents are scattered over the table: one map lookup per
    // extent otherwise); ids the context does not know fall back to lun_context().
    std::vector<const LunContext*> by_lun;
    if (ctx.luns != nullptr && !ctx.luns->empty()) {
        LunId max_lun = 0;
        for (const auto& [lun, c] : *ctx.luns) max_lun = std::max(max_lun, lun);
        if (max_lun < kDenseLuns) {
            by_lun.assign(std::size_t{max_lun} + 1, nullptr);
            for (const auto& [lun, c] : *ctx.luns) by_lun[lun] = &c;
        }
    }
    const auto score_block = [&](std::size_t b) {
        BlockResult& part = parts[b];
        std::uint64_t* bits = scored_in_.data() + b * kWordsPerBlock;
        const std::size_t end = std::min(n, (b + 1) * kBlock);
        for (std::size_t i = b * kBlock; i != end; ++i) {
            const ExtentStats& s = table.slot(i);
            if (s.empty()) continue;
            const LunId lun = key_lun(s.key);
            const LunContext* lc = lun < by_lun.size() ? by_lun[lun] : nullptr;
            if (lc == nullptr) lc = &lun_context(ctx, lun);
            const ExtentScore sc = score_extent(s, ctx, lc);
            // The filter of CostBenefit::score: what its vector would hold.
            if (!(sc.value > min_value || sc.forecast > min_value || sc.current != sc.home))
                continue;
            const std::size_t local = i - b * kBlock;
            bits[local / 64] |= std::uint64_t{1} << (local % 64);
            part.forecasts.push_back(sc.forecast);
            if (keep(sc)) part.kept.push_back(sc);
        }
    };
    if (parallel) {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1),
                          [&](const tbb::blocked_range<std::size_t>& r) {
                              for (std::size_t b = r.begin(); b != r.end(); ++b) score_block(b);
                          });
    } else {
        for (std::size_t b = 0; b < blocks; ++b) score_block(b);
    }
    block_offset_.assign(blocks + 1, 0);
    std::size_t kept_total = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
        block_offset_[b + 1] = block_offset_[b] + parts[b].forecasts.size();
        kept_total += parts[b].kept.size();
    }
    table_scores_ = block_offset_[blocks];
    forecasts_.assign(table_scores_, 0.0f);
    kept_.clear();
    kept_.reserve(kept_total);
    for (std::size_t b = 0; b < blocks; ++b) {
        std::copy(parts[b].forecasts.begin(), parts[b].forecasts.end(),
                  forecasts_.begin() + static_cast<std::ptrdiff_t>(block_offset_[b]));
        kept_.insert(kept_.end(), parts[b].kept.begin(), parts[b].kept.end());
        parts[b] = BlockResult{};  // released as soon as it is copied
    }
    appended_.clear();
}

void RoundScores::append(const ExtentScore& s, bool kept) {
    forecasts_.push_back(s.forecast);
    appended_.push_back(s);
    if (kept) kept_.push_back(s);
}

ExtentScore RoundScores::at(std::size_t position) const {
    if (position >= table_scores_) return appended_[position - table_scores_];
    // The block holding the position, then the slot of its rank-th score there.
    const auto it = std::upper_bound(block_offset_.begin(), block_offset_.end(), position);
    const auto b = static_cast<std::size_t>(it - block_offset_.begin()) - 1;
    std::size_t rank = position - block_offset_[b];
    const std::uint64_t* bits = scored_in_.data() + b * kWordsPerBlock;
    for (std::size_t w = 0; w < kWordsPerBlock; ++w) {
        std::uint64_t word = bits[w];
        const auto count = static_cast<std::size_t>(std::popcount(word));
        if (rank >= count) {
            rank -= count;
            continue;
        }
        for (; rank > 0; --rank) word &= word - 1;  // drop the lowest set bits before it
        const std::size_t slot =
            b * kBlock + w * 64 + static_cast<std::size_t>(std::countr_zero(word));
        return score_extent(table_->slot(slot), *ctx_);
    }
    return ExtentScore{};  // unreachable for position < size()
}

}  // namespace rbdtier
