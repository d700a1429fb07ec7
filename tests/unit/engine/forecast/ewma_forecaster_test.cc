// EwmaForecaster: the level and forecast of series whose answer is known, and the rate of
// bucket counts.
#include "engine/forecast/ewma_forecaster.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

namespace rbdtier {
namespace {

TEST(Ewma, ConstantSeriesForecastsTheConstant) {
    const std::vector<double> x(50, 7.0);
    EwmaForecaster f(0.3);
    EXPECT_NEAR(f.level(x), 7.0, 1e-9);
    const Forecast fc = f.forecast(x, 6);
    EXPECT_NEAR(fc.expected, 42.0, 1e-9);
    EXPECT_NEAR(fc.p_access, 1.0 - std::exp(-42.0), 1e-9);
}

TEST(Ewma, FollowsALevelShift) {
    std::vector<double> x(30, 0.0);
    for (std::size_t i = 15; i < 30; ++i) x[i] = 10.0;
    EwmaForecaster f(0.3);
    EXPECT_NEAR(f.level(x), 10.0 * (1 - std::pow(0.7, 15)), 1e-9);
}

TEST(Ewma, BucketRateOfSteadyCounts) {
    std::array<float, kBuckets> c;
    c.fill(4.0f);
    EXPECT_NEAR(EwmaForecaster::rate_of_buckets(c, 0.3f, 1.0f), 4.0f, 1e-4);
    c.fill(0.0f);
    EXPECT_EQ(EwmaForecaster::rate_of_buckets(c, 0.3f, 0.5f), 0.0f);
}

}  // namespace
}  // namespace rbdtier
