// ForecastCalibration: tracked forecasts score each model's reliability per LUN.
#include "engine/forecast_calibration.h"

#include <gtest/gtest.h>

namespace rbdtier {
namespace {

constexpr std::uint64_t kH = 10'000'000;

TEST(ForecastCalibration, ForecastsScoreModelReliabilityPerLun) {
    ForecastCalibration c(kH);
    ExtentTable table(1000);
    for (int i = 0; i < 200; ++i) {
        c.track_forecast(make_extent_key(1, i), 1, ModelId::kDrift, 0.8, 0);
        c.track_forecast(make_extent_key(1, 1000 + i), 1, ModelId::kScan, 0.8, 0);
    }
    // Only the scan's extents get accessed after the forecast.
    for (int i = 0; i < 200; ++i) {
        ExtentStats* s = table.find_or_insert(make_extent_key(1, 1000 + i));
        s->record(to_tick(1'000'000), 100, 1000, false, 4096, 0, false);
    }
    EXPECT_EQ(c.tracked_forecasts(), 400u);
    c.settle(kH, table);
    EXPECT_EQ(c.tracked_forecasts(), 0u);
    EXPECT_GT(c.reliability(1).reliability(ModelId::kScan), 0.9);
    EXPECT_LT(c.reliability(1).reliability(ModelId::kDrift), 0.1);
    EXPECT_DOUBLE_EQ(c.reliability(2).reliability(ModelId::kScan), 0.5);  // prior elsewhere
}

}  // namespace
}  // namespace rbdtier
