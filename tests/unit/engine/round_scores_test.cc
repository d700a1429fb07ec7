// RoundScores: every position holds what CostBenefit::score's vector (plus the appended scores)
// holds there; the kept scores are exactly those the predicate selects, in order; serial and
// parallel scoring agree.
#include "engine/round_scores.h"

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <random>

#include "engine/profiler.h"
#include "tests/support/scoring_candidates.h"

namespace rbdtier {
namespace {

EngineConfig two_tiers() {
    EngineConfig c;
    c.tiers = {{0, "nvme-a", "nvme", "site-a", 200, 200, 0, 10},
               {1, "hdd-a", "hdd", "site-a", 8000, 8000, 0, 1}};
    c.bucket_us = 1'000'000;
    c.horizon_us = 6'000'000;
    return c.validated();
}

// Random I/O over 4 LUNs (enough extents for several scoring blocks), some extents away from
// home and some hinted.
struct World : test_support::ScoringCandidates {
    explicit World(std::uint64_t seed) : ScoringCandidates(two_tiers()) {
        std::mt19937_64 rng(seed);
        add_luns(1, 4, 0.7);
        luns[3].priority = 2.0;
        const std::uint64_t last_us = record_random(rng, 120'000, 15'000);
        for (int i = 0; i < 500; ++i)
            placement.moved(make_extent_key(1 + i % 4, static_cast<ExtentIndex>(i) * 13), 1, 0, 1);
        for (int i = 0; i < 300; ++i) {
            ExtentHint& h = hints[make_extent_key(2, static_cast<ExtentIndex>(i) * 7)];
            h.p[2] = 0.9f;
            h.expected[2] = 3;
        }
        prepare(last_us);
        now_us = last_us;
    }
    std::uint64_t now_us = 0;
};

bool same(const ExtentScore& a, const ExtentScore& b) {
    return a.key == b.key && a.value == b.value && a.forecast == b.forecast &&
           a.p_access == b.p_access && a.gain_us == b.gain_us &&
           a.write_fraction == b.write_fraction && a.current == b.current && a.best == b.best &&
           a.home == b.home && a.model == b.model && a.proven == b.proven && a.tenant == b.tenant;
}

void expect_like_vector(bool parallel, std::uint64_t seed) {
    SCOPED_TRACE(testing::Message() << "seed " << seed << (parallel ? " parallel" : " serial"));
    World w(seed);
    const float min_value = 0.01f;
    const auto keep = [](const ExtentScore& s) {
        return s.current != s.home || mix_key(s.key) % 7 == 0;
    };
    std::vector<ExtentScore> full;
    CostBenefit::score(w.profiler.extents(), w.ctx, min_value, false, full);
    ExtentScore extra;
    extra.key = make_extent_key(9, 1);
    extra.forecast = 7;
    extra.current = 0;
    extra.home = 1;
    full.push_back(extra);

    RoundScores scores;
    {
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 2);
        scores.score(w.profiler.extents(), w.ctx, min_value, parallel, keep);
    }
    scores.append(extra, keep(extra));
    ASSERT_GT(w.profiler.extents().capacity(), 2 * RoundScores::kBlock);  // several blocks
    ASSERT_GT(full.size(), 1000u);
    ASSERT_EQ(scores.size(), full.size());
    std::vector<ExtentScore> kept;
    for (std::size_t i = 0; i < full.size(); ++i) {
        ASSERT_TRUE(same(scores.at(i), full[i])) << "position " << i;
        ASSERT_EQ(scores.forecast(i), full[i].forecast) << "position " << i;
        if (keep(full[i])) kept.push_back(full[i]);
    }
    ASSERT_GT(kept.size(), 100u);
    ASSERT_LT(kept.size(), full.size() / 2);
    ASSERT_EQ(scores.kept().size(), kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i)
        ASSERT_TRUE(same(scores.kept()[i], kept[i])) << "kept " << i;
}

TEST(RoundScores, SerialHoldsWhatTheScoreVectorHolds) {
    expect_like_vector(false, 5);
}

TEST(RoundScores, ParallelHoldsWhatTheScoreVectorHolds) {
    expect_like_vector(true, 6);
}

TEST(RoundScores, EmptyTable) {
    World w(7);
    ExtentTable empty(100);
    RoundScores scores;
    scores.score(empty, w.ctx, 0.01f, true, [](const ExtentScore&) { return true; });
    EXPECT_EQ(scores.size(), 0u);
    EXPECT_TRUE(scores.kept().empty());
    ExtentScore s;
    s.key = make_extent_key(1, 2);
    s.forecast = 3;
    scores.append(s, false);
    ASSERT_EQ(scores.size(), 1u);
    EXPECT_EQ(scores.at(0).key, s.key);
    EXPECT_EQ(scores.forecast(0), 3.0f);
    EXPECT_TRUE(scores.kept().empty());
}

}  // namespace
}  // namespace rbdtier
