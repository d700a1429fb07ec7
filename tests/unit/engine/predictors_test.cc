// Event-driven extent models (scan, co-access, recurrence, drift) on scripted access patterns.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "engine/forecast/coaccess_predictor.h"
#include "engine/forecast/drift_predictor.h"
#include "engine/forecast/recurrence_predictor.h"
#include "engine/forecast/scan_predictor.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::io_at;
using test_events::IoShape;
using test_events::kE;

// The I/Os of these tests: 1 MiB reads of LUN 1, from initiator 1 unless said.
constexpr IoShape kIo{.length = 1 << 20, .lun = 1, .initiator = 1};

TEST(ScanPredictor, PredictsTheNextExtentsAtTheScanRate) {
    ScanPredictor p(kE);
    // 1 MiB reads, 4 per extent, one I/O every 100 ms: 2.5 extents/s. Extents 100..119.
    std::uint64_t t = 0;
    for (std::uint64_t x = 100; x < 120; ++x)
        for (std::uint64_t mib = 0; mib < 4; ++mib, t += 100'000)
            p.observe(
                io_at(t, x, {.within = mib << 20, .length = 1 << 20, .lun = 1, .initiator = 1}));
    std::vector<ExtentForecast> out;
    const std::uint64_t now = t;
    p.predict(now, 10'000'000, out);  // 10 s at 2.5 extents/s: ~25 extents
    ASSERT_GE(out.size(), 22u);
    ASSERT_LE(out.size(), 27u);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
    EXPECT_EQ(key_extent(out.front().key), 120u);
    for (std::size_t i = 0; i < out.size(); ++i) {
        EXPECT_EQ(key_extent(out[i].key), 120u + i);
        EXPECT_EQ(out[i].model, ModelId::kScan);
        EXPECT_NEAR(out[i].forecast.expected / out[i].forecast.p_access, 4.0, 0.3);
    }
    // ETA of extent 120 + k is ~ k * 400 ms after the last I/O.
    EXPECT_NEAR(static_cast<double>(out[9].eta_us - (t - 100'000)), 10 * 400'000.0, 200'000.0);
}

TEST(ScanPredictor, RandomAccessPredictsNothingAndDeadScansStop) {
    ScanPredictor p(kE);
    std::mt19937_64 rng(2);
    for (int i = 0; i < 1000; ++i) p.observe(io_at(i * 1000, rng() % 10000, kIo));
    std::vector<ExtentForecast> out;
    p.predict(1'000'000, 60'000'000, out);
    EXPECT_TRUE(out.empty());
    for (std::uint64_t x = 0; x < 10; ++x)
        p.observe(io_at(2'000'000 + x * 100'000, x, kIo.from(2)));
    p.predict(3'000'000, 60'000'000, out);
    EXPECT_FALSE(out.empty());
    out.clear();
    p.predict(600'000'000, 60'000'000, out);  // long silent: the scan is over
    EXPECT_TRUE(out.empty());
    // Muted streams (anomalous initiators) predict nothing.
    for (std::uint64_t x = 0; x < 10; ++x)
        p.observe(io_at(700'000'000 + x * 100'000, x, kIo.from(3)));
    p.mute(1, 3, true);
    p.predict(701'000'000, 60'000'000, out);
    EXPECT_TRUE(out.empty());
}

TEST(CoAccess, LearnsThatBFollowsA) {
    CoAccessPredictor p(1024, 5'000'000, 0.5);
    const ExtentKey a = make_extent_key(1, 10), b = make_extent_key(1, 500),
                    noise = make_extent_key(1, 77);
    std::uint64_t t = 0;
    for (int round = 0; round < 10; ++round) {
        p.observe_episode_start(a, t);
        p.observe_episode_start(b, t + 1'000'000);
        if (round % 3 == 0) p.observe_episode_start(noise, t + 2'000'000);
        t += 100'000'000;
    }
    EXPECT_GT(p.confidence(a, b), 0.8);
    EXPECT_LT(p.confidence(a, noise), 0.5);
    EXPECT_EQ(p.confidence(b, a), 0.0);  // A never follows B within the window
    std::vector<ExtentForecast> out;
    p.predict(out);  // drops what started before
    p.observe_episode_start(a, t);
    p.predict(out);
    bool found_b = false, found_noise = false;
    for (const auto& f : out) {
        found_b |= f.key == b;
        found_noise |= f.key == noise;
    }
    EXPECT_TRUE(found_b);
    EXPECT_FALSE(found_noise);
}

TEST(CoAccess, TableIsBounded) {
    CoAccessPredictor p(100, 1'000'000);
    for (std::uint64_t i = 0; i < 10000; ++i)
        p.observe_episode_start(make_extent_key(1, i), i * 10);
    EXPECT_LE(p.sources(), 100u);
    // The recent sources are kept, the old ones forgotten.
    EXPECT_EQ(p.last_start_us(make_extent_key(1, 9999)), 99'990u);
    EXPECT_EQ(p.last_start_us(make_extent_key(1, 10)), 0u);
}

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

TEST(Drift, FollowsAMovingHotspot) {
    DriftPredictor p(kE, 1'000'000);  // 1 s buckets
    std::mt19937_64 rng(4);
    // Hotspot of 20 extents centred at 100 + 2 * second.
    for (int sec = 0; sec < 20; ++sec)
        for (int i = 0; i < 200; ++i) {
            const double c = 100 + 2.0 * sec;
            const auto x = static_cast<std::uint64_t>(c - 10 + static_cast<double>(rng() % 20));
            p.observe(io_at(sec * 1'000'000ull + i * 5000, x, kIo));
        }
    const auto fit = p.fit(1);
    ASSERT_TRUE(fit.valid);
    EXPECT_NEAR(fit.speed, 2.0, 0.2);
    EXPECT_GT(fit.r2, 0.95);
    std::vector<ExtentForecast> out;
    p.predict(20'000'000, 5'000'000, out);  // 5 s ahead: the front moves ~10 extents
    ASSERT_FALSE(out.empty());
    std::set<std::uint64_t> xs;
    for (const auto& f : out) xs.insert(key_extent(f.key));
    // The front is near 100 + 2*20 + 10 = 150; predicted extents lie just ahead of it.
    EXPECT_GE(*xs.begin(), 140u);
    EXPECT_LE(*xs.rbegin(), 170u);
    EXPECT_TRUE(xs.count(152) || xs.count(153));
}

TEST(Drift, StationaryTrafficPredictsNothing) {
    DriftPredictor p(kE, 1'000'000);
    std::mt19937_64 rng(8);
    for (int sec = 0; sec < 20; ++sec)
        for (int i = 0; i < 200; ++i)
            p.observe(io_at(sec * 1'000'000ull + i * 5000, rng() % 1000, kIo));
    std::vector<ExtentForecast> out;
    p.predict(20'000'000, 5'000'000, out);
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace rbdtier
