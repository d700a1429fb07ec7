// HoltWintersForecaster: a pure period, a trend without season, and both.
#include "engine/forecast/holt_winters_forecaster.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/series.h"

namespace rbdtier {
namespace {

using test_support::pulses;

TEST(HoltWinters, ForecastsAPurePeriod) {
    const std::size_t m = 12;
    const auto x = pulses(10 * m, m, 3, 40.0);  // ends at phase 0 of the next period
    HoltWintersForecaster hw;
    ASSERT_TRUE(hw.fit(x));
    EXPECT_EQ(hw.period(), m);
    for (std::size_t h = 1; h <= 2 * m; ++h) {
        const double truth = ((10 * m + h - 1) % m) < 3 ? 40.0 : 0.0;
        EXPECT_NEAR(hw.forecast(h), truth, 4.0) << "h=" << h;
    }
    EXPECT_NEAR(hw.total(m), 3 * 40.0, 12.0);
}

TEST(HoltWinters, ExtrapolatesATrendWithoutSeason) {
    std::vector<double> x;
    for (int t = 0; t < 60; ++t) x.push_back(5.0 + 2.0 * t);
    HoltWintersForecaster hw;
    ASSERT_TRUE(hw.fit(x));
    EXPECT_EQ(hw.period(), 0u);
    EXPECT_NEAR(hw.forecast(1), 5.0 + 2.0 * 60, 1.0);
    EXPECT_NEAR(hw.forecast(10), 5.0 + 2.0 * 69, 2.0);
}

TEST(HoltWinters, SeasonPlusTrend) {
    std::vector<double> x;
    const std::size_t m = 10;
    for (std::size_t t = 0; t < 12 * m; ++t) x.push_back(20 + 0.5 * t + (t % m < 2 ? 30 : 0));
    HoltWintersForecaster hw;
    ASSERT_TRUE(hw.fit(x));
    EXPECT_EQ(hw.period(), m);
    const std::size_t n = x.size();
    for (std::size_t h = 1; h <= m; ++h) {
        const std::size_t t = n + h - 1;
        EXPECT_NEAR(hw.forecast(h), 20 + 0.5 * t + (t % m < 2 ? 30 : 0), 5.0) << h;
    }
}

}  // namespace
}  // namespace rbdtier
