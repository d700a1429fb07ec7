// Cost/benefit: the parallel scorer equals the serial one; the score ranks what it should.
#include "engine/cost_benefit.h"

#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <random>

#include "engine/profiler.h"
#include "tests/support/io_events.h"
#include "tests/support/scoring_candidates.h"

namespace rbdtier {
namespace {

using test_events::read_at;

EngineConfig two_tiers() {
    EngineConfig c;
    TierSpec fast{0, "nvme-a", "nvme", "site-a", 200, 200, 0, 10};
    TierSpec slow{1, "hdd-a", "hdd", "site-a", 8000, 8000, 0, 1};
    c.tiers = {fast, slow};
    c.bucket_us = 1'000'000;
    c.horizon_us = 6'000'000;
    return c.validated();
}

// The scorer's inputs over two tiers.
struct Fixture : test_support::ScoringCandidates {
    Fixture() : ScoringCandidates(two_tiers()) {}
};

TEST(CostBenefit, ParallelEqualsSerial) {
    Fixture f;
    std::mt19937_64 rng(11);
    f.add_luns(1, 4, 0.7);
    f.luns[3].priority = 2.0;
    const std::uint64_t last_us = f.record_random(rng, 200'000, 20'000);
    for (int i = 0; i < 500; ++i) f.placement.moved(make_extent_key(1 + i % 4, i * 13), 1, 0, 1);
    for (int i = 0; i < 300; ++i)
        f.hints[make_extent_key(2, i * 7)].p[2] = 0.9f,
                                       f.hints[make_extent_key(2, i * 7)].expected[2] = 3;
    f.prepare(last_us);
    std::vector<ExtentScore> serial, parallel;
    CostBenefit::score(f.profiler.extents(), f.ctx, 0.01f, false, serial);
    {
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 2);
        CostBenefit::score(f.profiler.extents(), f.ctx, 0.01f, true, parallel);
    }
    ASSERT_GT(serial.size(), 1000u);
    ASSERT_EQ(serial.size(), parallel.size());
    for (std::size_t i = 0; i < serial.size(); ++i) {
        EXPECT_EQ(serial[i].key, parallel[i].key);
        EXPECT_EQ(serial[i].value, parallel[i].value);
        EXPECT_EQ(serial[i].gain_us, parallel[i].gain_us);
        EXPECT_EQ(serial[i].best, parallel[i].best);
    }
}

TEST(CostBenefit, HotExtentsGainColdOnesDoNot) {
    Fixture f;
    f.add_luns(1, 1, 1.0);
    // Extent 1: 20 accesses per second for 10 s. Extent 2: one access.
    for (int s = 0; s < 10; ++s)
        for (int i = 0; i < 20; ++i)
            f.profiler.record(read_at(s * 1'000'000ull + i * 50'000, 1, 1));  // 20 per second
    f.profiler.record(read_at(9'500'000, 2, 1));
    f.profiler.drain(10'000'000);
    f.prepare(10'000'000);
    const ExtentScore hot = score_extent(*f.profiler.extents().find(make_extent_key(1, 1)), f.ctx);
    const ExtentScore cold = score_extent(*f.profiler.extents().find(make_extent_key(1, 2)), f.ctx);
    EXPECT_EQ(hot.current, 1);
    EXPECT_EQ(hot.best, 0);
    // ~20/s x 6 s horizon x 7800 us saved, minus moving 4 MiB (20 ms at 200 MiB/s, weighted
    // 0.1 while both tiers are idle).
    EXPECT_NEAR(hot.value, 120.0, 25.0);
    EXPECT_NEAR(hot.gain_us, hot.value * 7800.0 - 2'000.0, 1.0);
    EXPECT_LT(cold.value, 2.0);
    EXPECT_LT(cold.value * 50, hot.value);
    EXPECT_LT(cold.gain_us * 50, hot.gain_us);
    // Priority scales the value.
    f.luns[1].priority = 3.0;
    const ExtentScore hot3 = score_extent(*f.profiler.extents().find(make_extent_key(1, 1)), f.ctx);
    EXPECT_NEAR(hot3.value, 3 * hot.value, 1e-3);
}

// The value of extent 1 of LUN 1 at `now_us` after `accesses` (times in µs), in the fixture's
// model: buckets of 1 s, horizon 6 s, episodes end after 3 s of silence.
float value_after(const std::vector<std::uint64_t>& accesses, std::uint64_t now_us) {
    Fixture f;
    f.add_luns(1, 1, 1.0);
    for (std::uint64_t t : accesses) f.profiler.record(read_at(t, 1, 1));
    f.profiler.drain(now_us);
    f.prepare(now_us);
    return score_extent(*f.profiler.extents().find(make_extent_key(1, 1)), f.ctx).value;
}

TEST(CostBenefit, ABurstyExtentKeepsItsValueThroughTheSilencesItComesBackFrom) {
    // 20 accesses 5 ms apart at the start of every second for 10 s: 200 accesses, as many as a
    // steady 20 a second, but in bursts with 0.9 s of silence between them. 0.8 s after its last
    // burst it is as busy as ever: its silence is shorter than those it came back from.
    std::vector<std::uint64_t> bursty, steady;
    for (std::uint64_t s = 0; s < 10; ++s)
        for (std::uint64_t i = 0; i < 20; ++i) {
            bursty.push_back(s * 1'000'000 + i * 5'000);
            steady.push_back(s * 1'000'000 + i * 50'000);
        }
    const float steady_value = value_after(steady, 9'900'000);
    const float bursty_value = value_after(bursty, 9'900'000);
    EXPECT_GT(steady_value, 50.0f);
    EXPECT_GT(bursty_value, 0.5f * steady_value)
        << "steady " << steady_value << ", bursty " << bursty_value;
}

TEST(CostBenefit, AnExtentWhoseOneBurstEndedFadesFast) {
    // 100 accesses 5 ms apart, then 1.5 s of silence (300 of its inter-access times, within
    // its episode): the burst is over and its value fades, as it does not for the same burst
    // scored 20 ms after its end.
    std::vector<std::uint64_t> burst;
    for (std::uint64_t i = 0; i < 100; ++i) burst.push_back(2'000'000 + i * 5'000);
    const float just_after = value_after(burst, 2'515'000);
    ASSERT_GT(just_after, 10.0f);
    const float kept = value_after(burst, 4'000'000) / just_after;
    EXPECT_LT(kept, 0.05f) << "share of its value kept 1.5 s after the burst";
}

TEST(ResourceModel, LatencyCapacityAndMoveCost) {
    EngineConfig c = two_tiers();
    c.tiers.push_back({2, "nvme-b", "nvme", "site-b", 200, 200, 1 << 30, 10});
    c.local_site = "site-a";
    c.remote_site_penalty_us = 1000;
    ResourceModel r(c);
    EXPECT_DOUBLE_EQ(r.access_latency_us(2), 1200);
    EXPECT_EQ(r.tiers_fastest_first(), (std::vector<TierId>{0, 2, 1}));
    r.set_used_bytes(2, 1 << 29);
    EXPECT_EQ(r.free_bytes(2), 1u << 29);
    EXPECT_EQ(r.capacity(0), std::numeric_limits<std::uint64_t>::max());
    EXPECT_NEAR(r.move_cost_us(1, 0, 4 << 20), 2'000, 1);  // idle: 0.1 x 20 ms
    r.set_utilization(1, 1.0);
    EXPECT_NEAR(r.move_cost_us(1, 0, 4 << 20), 22'000, 1);
    for (int i = 0; i < 200; ++i) r.observe_latency(0, IoOp::kRead, 5000);
    EXPECT_GT(r.access_latency_us(0), 4000);
    EXPECT_EQ(r.tiers_fastest_first().front(), 2);  // measured: nvme-a got slow
}

}  // namespace
}  // namespace rbdtier
