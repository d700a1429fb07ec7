// Feedback on a scripted scenario: precision, recall, wasted bytes, threshold, and the judged
// promotions told to the forecast's calibration.
#include "engine/feedback.h"

#include <gtest/gtest.h>

#include "engine/forecast_calibration.h"

namespace rbdtier {
namespace {

constexpr std::uint64_t kExt = 4ull << 20;
constexpr std::uint64_t kH = 10'000'000;

TEST(Feedback, PrecisionWastedBytesAndLatencySaved) {
    ForecastCalibration calibration(kH);
    Feedback f(kH, kExt, calibration);
    // Ten promotions at t=0: six by the scan model (5 accessed), four by recurrence (1 accessed).
    for (int i = 0; i < 10; ++i) {
        const ModelId m = i < 6 ? ModelId::kScan : ModelId::kRecurrence;
        f.on_promotion(make_extent_key(1, i), i < 6 ? 0 : 1, m, 7800.0, 0);
    }
    for (int i : {0, 1, 2, 3, 4, 6})
        for (int k = 0; k < 3; ++k) f.on_access(make_extent_key(1, i), 1'000'000 + k);
    f.on_access(make_extent_key(1, 99), 1'000'000);  // not promoted: ignored
    EXPECT_TRUE(f.settle(kH - 1).empty());           // nothing due yet
    const auto wasted = f.settle(kH);
    EXPECT_EQ(wasted.size(), 4u);
    EXPECT_EQ(f.total().promotions, 10u);
    EXPECT_EQ(f.total().hits, 6u);
    EXPECT_DOUBLE_EQ(f.total().precision(), 0.6);
    EXPECT_EQ(f.total().wasted_bytes, 4 * kExt);
    EXPECT_DOUBLE_EQ(f.total().latency_saved_us, 6 * 3 * 7800.0);
    EXPECT_NEAR(f.by_model(ModelId::kScan).precision(), 5.0 / 6, 1e-9);
    EXPECT_NEAR(f.by_model(ModelId::kRecurrence).precision(), 0.25, 1e-9);
    EXPECT_EQ(f.by_tenant(1).wasted, 3u);
}

TEST(Feedback, DemotionJudgesEarlyAndRecallCountsEpisodes) {
    ForecastCalibration calibration(kH);
    Feedback f(kH, kExt, calibration);
    f.on_promotion(make_extent_key(1, 1), 0, ModelId::kEwma, 100.0, 0);
    f.on_demotion(make_extent_key(1, 1), 1'000'000);
    EXPECT_EQ(f.total().wasted, 1u);
    EXPECT_EQ(f.settle(2'000'000).size(), 1u);
    for (int i = 0; i < 8; ++i) f.on_busy_access(make_extent_key(1, 2), 0, i < 6);
    EXPECT_DOUBLE_EQ(f.total().recall(), 0.75);
}

// Each model answers for the busy accesses its promotions served, out of all of them.
TEST(Feedback, RecallPerModelAddsUpToTheTotal) {
    ForecastCalibration calibration(kH);
    Feedback f(kH, kExt, calibration);
    const ExtentKey by_scan = make_extent_key(1, 1), by_ewma = make_extent_key(1, 2),
                    demoted = make_extent_key(1, 3), never = make_extent_key(1, 4);
    f.on_promotion(by_scan, 0, ModelId::kScan, 100.0, 0);
    f.on_promotion(by_ewma, 0, ModelId::kEwma, 100.0, 0);
    f.on_promotion(demoted, 0, ModelId::kEwma, 100.0, 0);
    f.on_demotion(demoted, 10);
    for (int i = 0; i < 3; ++i) f.on_busy_access(by_scan, 0, true);
    f.on_busy_access(by_ewma, 0, true);
    f.on_busy_access(demoted, 0, false);
    for (int i = 0; i < 3; ++i) f.on_busy_access(never, 0, false);
    EXPECT_DOUBLE_EQ(f.by_model(ModelId::kScan).recall(), 3.0 / 8);
    EXPECT_DOUBLE_EQ(f.by_model(ModelId::kEwma).recall(), 1.0 / 8);
    EXPECT_DOUBLE_EQ(f.by_model(ModelId::kRecurrence).recall(), 0);
    EXPECT_DOUBLE_EQ(f.total().recall(), 4.0 / 8);
    EXPECT_EQ(f.by_model(ModelId::kDrift).busy_accesses, 8u);
}

TEST(Feedback, ThresholdRisesWhenPromotionsAreWastedAndFallsWhenTheyHit) {
    ForecastCalibration calibration(kH);
    Feedback f(kH, kExt, calibration);
    std::uint64_t t = 0;
    for (int batch = 0; batch < 3; ++batch) {
        for (int i = 0; i < 32; ++i)
            f.on_promotion(make_extent_key(1, batch * 100 + i), 0, ModelId::kEwma, 1, t);
        t += kH;
        f.settle(t);
    }
    const double raised = f.threshold_factor();
    EXPECT_GT(raised, 0.5);
    for (int batch = 0; batch < 2; ++batch) {
        for (int i = 0; i < 32; ++i) {
            f.on_promotion(make_extent_key(2, batch * 100 + i), 0, ModelId::kEwma, 1, t);
            f.on_access(make_extent_key(2, batch * 100 + i), t + 1);
        }
        t += kH;
        f.settle(t);
    }
    EXPECT_LT(f.threshold_factor(), raised);
}

TEST(Feedback, JudgedPromotionsScoreTheirModelsReliability) {
    ForecastCalibration calibration(kH);
    Feedback f(kH, kExt, calibration);
    for (int i = 0; i < 100; ++i) {
        f.on_promotion(make_extent_key(1, i), 0, ModelId::kScan, 100.0, 0);
        f.on_promotion(make_extent_key(1, 1000 + i), 0, ModelId::kDrift, 100.0, 0);
        f.on_access(make_extent_key(1, i), 1);
    }
    f.settle(kH);
    EXPECT_GT(calibration.reliability(1).reliability(ModelId::kScan), 0.8);
    EXPECT_LT(calibration.reliability(1).reliability(ModelId::kDrift), 0.2);
}

}  // namespace
}  // namespace rbdtier
