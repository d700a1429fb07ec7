// recurrence_forecast: the next episode of a periodic extent.
#include "engine/forecast/recurrence_predictor.h"

#include <gtest/gtest.h>

namespace rbdtier {
namespace {

ExtentStats episodic(std::uint32_t period, std::uint32_t first, int episodes, int per_episode,
                     std::uint32_t bucket_ticks, std::uint32_t gap) {
    ExtentStats s;
    s.key = make_extent_key(1, 5);
    for (int e = 0; e < episodes; ++e)
        for (int i = 0; i < per_episode; ++i)
            s.record(first + e * period + i * 10, bucket_ticks, gap, false, 4096, 0, false);
    return s;
}

TEST(Recurrence, PredictsTheNextEpisodeOfAPeriodicExtent) {
    // Episodes every 60000 ticks (10 min), 30 accesses each.
    const std::uint32_t period = 60000, bucket = 1000, gap = 3000;
    const ExtentStats s = episodic(period, 1000, 3, 30, bucket, gap);
    EXPECT_EQ(s.period_buckets() * bucket, period);
    EXPECT_EQ(s.anchor_start, 1000 + 2 * period);
    RecurrenceParams p;
    p.bucket_ticks = bucket;
    p.horizon_ticks = 6000;
    p.episode_gap_ticks = gap;
    p.lun_period_ticks = period;
    const std::uint32_t next = 1000 + 3 * period;
    // Long before: nothing. Within H of the next start: ~30 accesses, high confidence.
    EXPECT_EQ(recurrence_forecast(s, next - 30000, p).p_access, 0.0);
    const Forecast f = recurrence_forecast(s, next - 1000, p);  // within the lead (H/4)
    EXPECT_GE(f.p_access, 0.85);
    EXPECT_NEAR(f.expected, 0.9 * 30, 3.0);
    // Further ahead it is less urgent: it counts less.
    const Forecast early = recurrence_forecast(s, next - 4000, p);
    EXPECT_GT(early.expected, 0.0);
    EXPECT_LT(early.expected, 0.7 * f.expected);
    // Stray single accesses between the episodes do not disturb it.
    ExtentStats noisy = s;
    noisy.record(1000 + 2 * period + 20000, bucket, gap, false, 4096, 0, false);
    const Forecast n = recurrence_forecast(noisy, next - 1000, p);
    EXPECT_NEAR(n.expected, f.expected, 3.0);
    // Without a LUN season it still predicts, with less confidence.
    p.lun_period_ticks = 0;
    const Forecast g = recurrence_forecast(s, next - 1000, p);
    EXPECT_GT(g.p_access, 0.0);
    EXPECT_LT(g.p_access, f.p_access);
    // An extent seen in one episode only has no recurrence.
    const ExtentStats once = episodic(period, 1000, 1, 30, bucket, gap);
    EXPECT_EQ(recurrence_forecast(once, 1000 + period - 3000, p).p_access, 0.0);
}

}  // namespace
}  // namespace rbdtier
