// ForecastSkill: noise earns no trust, real structure full trust.
#include "engine/forecast/forecast_skill.h"

#include <gtest/gtest.h>

#include <random>

namespace rbdtier {
namespace {

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
