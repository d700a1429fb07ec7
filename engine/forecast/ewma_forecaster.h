// EwmaForecaster: exponentially weighted moving average of a per-bucket count series.
//
// level_t = alpha * x_t + (1 - alpha) * level_{t-1}; the forecast for each of the next h buckets
// is the level (no trend, no season), so the expected count over h buckets is h * level.
// `rate_of_buckets` is the allocation-free variant the per-extent scorer uses on the 16-bucket
// ring of an ExtentStats (the newest bucket may be partial: `newest_fraction` of it elapsed).
#pragma once

#include <array>
#include <span>

#include "engine/extent_stats.h"
#include "engine/forecast/forecast.h"

namespace rbdtier {

class EwmaForecaster {
public:
    explicit EwmaForecaster(double alpha = 0.3) : alpha_(alpha) {}
    double alpha() const { return alpha_; }

    // Level after the whole series (0 for an empty one).
    double level(std::span<const double> series) const;
    // Expected total over the next h buckets, and P(at least one) under a Poisson assumption.
    Forecast forecast(std::span<const double> series, double h_buckets) const;

    // Per-extent fast path: decayed rate per bucket over kBuckets counts (oldest first).
    static float rate_of_buckets(const std::array<float, kBuckets>& counts, float alpha,
                                 float newest_fraction);

private:
    double alpha_;
};

}  // namespace rbdtier
