// ArForecaster: known coefficients recovered, a trend followed by differencing, a period by
// its lags; solve_linear on a small system and a singular one.
#include "engine/forecast/ar_forecaster.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace rbdtier {
namespace {

TEST(Ar, RecoversKnownCoefficients) {
    std::mt19937 rng(3);
    std::normal_distribution<double> noise(0, 1);
    std::vector<double> x = {0, 0};
    for (int t = 2; t < 4000; ++t) x.push_back(2.0 + 0.6 * x[t - 1] - 0.3 * x[t - 2] + noise(rng));
    ArForecaster ar(2);
    ASSERT_TRUE(ar.fit(x));
    EXPECT_NEAR(ar.coefficients()[0], 0.6, 0.05);
    EXPECT_NEAR(ar.coefficients()[1], -0.3, 0.05);
    EXPECT_NEAR(ar.intercept(), 2.0, 0.2);
    // The long-run forecast converges to the process mean c / (1 - sum phi).
    EXPECT_NEAR(ar.forecast(200), 2.0 / (1 - 0.6 + 0.3), 0.3);
}

TEST(Ar, ArimaDifferencingFollowsATrend) {
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0, 0.2);
    std::vector<double> x;
    for (int t = 0; t < 300; ++t) x.push_back(100 + 3.0 * t + noise(rng));
    ArForecaster arima(1, 1);
    ASSERT_TRUE(arima.fit(x));
    EXPECT_NEAR(arima.forecast(10), 100 + 3.0 * 309, 3.0);
    ArForecaster plain(1, 0);
    ASSERT_TRUE(plain.fit(x));
    // Even plain AR(1) tracks it roughly; differencing does better.
    EXPECT_LT(std::abs(arima.forecast(10) - (100 + 3.0 * 309)),
              std::abs(plain.forecast(10) - (100 + 3.0 * 309)) + 1.0);
}

TEST(Ar, PeriodicSeriesIsPredictedByLags) {
    // x_t = x_{t-3} exactly: AR(3) finds phi_3 = 1.
    std::vector<double> x;
    for (int t = 0; t < 300; ++t) x.push_back(t % 3 == 0 ? 9.0 : 1.0);
    ArForecaster ar(3);
    ASSERT_TRUE(ar.fit(x));
    EXPECT_NEAR(ar.forecast(1), 9.0, 0.1);  // t = 300 is a multiple of 3
    EXPECT_NEAR(ar.forecast(2), 1.0, 0.1);
}

TEST(Solve, SmallSystem) {
    std::vector<double> x;
    ASSERT_TRUE(solve_linear({2, 1, 1, 3}, {3, 5}, 2, x));
    EXPECT_NEAR(x[0], 0.8, 1e-9);
    EXPECT_NEAR(x[1], 1.4, 1e-9);
    EXPECT_FALSE(solve_linear({1, 2, 2, 4}, {1, 2}, 2, x));
}

}  // namespace
}  // namespace rbdtier
