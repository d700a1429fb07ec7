// detect_period: the period of pulses and of a noisy sine; none in white noise.
#include "engine/forecast/seasonality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/support/series.h"

namespace rbdtier {
namespace {

using test_support::pulses;

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

}  // namespace
}  // namespace rbdtier
