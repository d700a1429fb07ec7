// DriftPredictor: follows a moving hotspot, predicts nothing of stationary traffic.
#include "engine/forecast/drift_predictor.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::kE;
using test_events::read_at;

TEST(Drift, FollowsAMovingHotspot) {
    DriftPredictor p(kE, 1'000'000);  // 1 s buckets
    std::mt19937_64 rng(4);
    // Hotspot of 20 extents centred at 100 + 2 * second.
    for (int sec = 0; sec < 20; ++sec)
        for (int i = 0; i < 200; ++i) {
            const double c = 100 + 2.0 * sec;
            const auto x = static_cast<std::uint64_t>(c - 10 + static_cast<double>(rng() % 20));
            p.observe(read_at(sec * 1'000'000ull + i * 5000, x, 1));
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
            p.observe(read_at(sec * 1'000'000ull + i * 5000, rng() % 1000, 1));
    std::vector<ExtentForecast> out;
    p.predict(20'000'000, 5'000'000, out);
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace rbdtier
