// Each time-series model against series whose answer is known.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/forecast/ar_forecaster.h"
#include "engine/forecast/ensemble.h"
#include "engine/forecast/ewma_forecaster.h"
#include "engine/forecast/forecast_skill.h"
#include "engine/forecast/holt_winters_forecaster.h"
#include "engine/forecast/seasonality.h"

namespace rbdtier {
namespace {

std::vector<double> pulses(std::size_t n, std::size_t period, std::size_t width, double high) {
    std::vector<double> x(n, 0.0);
    for (std::size_t t = 0; t < n; ++t)
        if (t % period < width) x[t] = high;
    return x;
}

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

TEST(Seasonality, DetectsThePeriodOfPulses) {
    for (std::size_t period : {7u, 12u, 30u}) {
        const auto x = pulses(8 * period, period, 2, 50.0);
        EXPECT_EQ(detect_period(x), period) << "period " << period;
    }
}

TEST(Seasonality, DetectsASineWithNoise) {
    std::mt19937 rng(1);
    std::normal_distribution<double> noise(0, 0.3);
    std::vector<double> x;
    for (int t = 0; t < 240; ++t) x.push_back(10 + 5 * std::sin(2 * M_PI * t / 24.0) + noise(rng));
    EXPECT_EQ(detect_period(x), 24u);
}

TEST(Seasonality, WhiteNoiseHasNoSeason) {
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(10, 2);
    int found = 0;
    for (int trial = 0; trial < 20; ++trial) {
        std::vector<double> x;
        for (int t = 0; t < 256; ++t) x.push_back(noise(rng));
        if (detect_period(x) != 0) ++found;
    }
    EXPECT_LE(found, 1);
}

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

TEST(Ensemble, WeightsTheAccurateModel) {
    Ensemble e(3);
    std::mt19937 rng(9);
    std::normal_distribution<double> noise(0, 1);
    for (int t = 0; t < 100; ++t) {
        const double truth = 10 + noise(rng);
        const std::vector<double> preds = {truth + 0.1, truth + 5.0, 10.0 + 3 * noise(rng)};
        e.update(preds, truth);
    }
    const auto w = e.weights();
    EXPECT_GT(w[0], w[1]);
    EXPECT_GT(w[0], w[2]);
    EXPECT_NEAR(w[0] + w[1] + w[2], 1.0, 1e-9);
    EXPECT_NEAR(e.combine(std::vector<double>{10, 20, 12}), 10.0, 2.5);
}

TEST(Ensemble, EqualWeightsBeforeEvidence) {
    Ensemble e(4);
    for (double w : e.weights()) EXPECT_DOUBLE_EQ(w, 0.25);
}

TEST(ModelReliability, LearnsPrecision) {
    ModelReliability r(0.5, 0.05);
    for (int i = 0; i < 200; ++i) {
        r.update(ModelId::kScan, 0.9, true);
        r.update(ModelId::kDrift, 0.9, i % 5 == 0);
    }
    EXPECT_GT(r.reliability(ModelId::kScan), 0.95);
    EXPECT_NEAR(r.reliability(ModelId::kDrift), 0.2, 0.1);
    EXPECT_LT(r.log_loss(ModelId::kScan), r.log_loss(ModelId::kDrift));
    EXPECT_DOUBLE_EQ(r.reliability(ModelId::kCoAccess), 0.5);
}

// White noise: every extent has the same Poisson future; forecasts from its own noisy past tell
// nothing. The skill is ~0 and the base rate is the true rate.
TEST(ForecastSkill, NoiseEarnsNoTrust) {
    std::mt19937_64 rng(3);
    std::poisson_distribution<int> accesses(6.0);
    ForecastSkill skill;
    EXPECT_FALSE(skill.proven());
    EXPECT_EQ(skill.trust(), 1.0);  // unproven: taken as is (the engine displaces nothing)
    for (int i = 0; i < 20'000; ++i) skill.add(accesses(rng), accesses(rng));
    EXPECT_TRUE(skill.proven());
    EXPECT_NEAR(skill.slope(), 0.0, 0.05);
    EXPECT_EQ(skill.trust(), 0.0);
    EXPECT_NEAR(skill.base_rate(), 6.0, 0.2);
}

// A known structure: a few hot extents (rate 50) among many quiet ones (rate 0.2); the
// forecast is each extent's rate, the outcome a Poisson draw of it. Full trust.
TEST(ForecastSkill, RealStructureEarnsFullTrust) {
    std::mt19937_64 rng(5);
    ForecastSkill skill;
    for (int i = 0; i < 20'000; ++i) {
        const double rate = i % 50 == 0 ? 50.0 : 0.2;
        std::poisson_distribution<int> accesses(rate);
        skill.add(rate, accesses(rng));
    }
    EXPECT_NEAR(skill.slope(), 1.0, 0.05);
    EXPECT_EQ(skill.trust(), 1.0);
    // Forecasts twice too high still rank right: trust stays full (slope 0.5 > kFullSkill).
    ForecastSkill doubled;
    for (int i = 0; i < 20'000; ++i) {
        const double rate = i % 50 == 0 ? 50.0 : 0.2;
        std::poisson_distribution<int> accesses(rate);
        doubled.add(2 * rate, accesses(rng));
    }
    EXPECT_NEAR(doubled.slope(), 0.5, 0.05);
    EXPECT_EQ(doubled.trust(), 1.0);
}

}  // namespace
}  // namespace rbdtier
