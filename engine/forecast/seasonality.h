// Seasonality detection by autocorrelation over a bucket series.
//
// autocorrelation(x, k) is the sample autocorrelation at lag k (in [-1, 1]). detect_period()
// returns the season length in buckets: the smallest lag in [min_lag, n/2] that is a local peak
// of the autocorrelation and reaches `threshold` and at least 90% of the highest such peak
// (so the fundamental period wins over its multiples); 0 when the series has no season.
#pragma once

#include <cstddef>
#include <span>

namespace rbdtier {

double autocorrelation(std::span<const double> series, std::size_t lag);
std::size_t detect_period(std::span<const double> series, std::size_t min_lag = 2,
                          double threshold = 0.3);

}  // namespace rbdtier
