// Ensemble weights the accurate model and starts equal; ModelReliability learns each model's
// precision.
#include "engine/forecast/ensemble.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace rbdtier {
namespace {

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

}  // namespace
}  // namespace rbdtier
