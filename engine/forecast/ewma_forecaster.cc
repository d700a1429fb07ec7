#include "engine/forecast/ewma_forecaster.h"

#include <algorithm>

namespace rbdtier {

double EwmaForecaster::level(std::span<const double> series) const {
    if (series.empty()) return 0.0;
    double l = series.front();
    for (std::size_t i = 1; i < series.size(); ++i) l = alpha_ * series[i] + (1.0 - alpha_) * l;
    return l;
}

Forecast EwmaForecaster::forecast(std::span<const double> series, double h_buckets) const {
    const double e = std::max(0.0, level(series)) * h_buckets;
    return {poisson_p_any(e), e};
}

float EwmaForecaster::rate_of_buckets(const std::array<float, kBuckets>& counts, float alpha,
                                      float newest_fraction) {
    // Weighted mean with weights (1-alpha)^age; the partial newest bucket is scaled up to a full
    // bucket but weighted by how much of it has elapsed.
    const float decay = 1.0f - alpha;
    float w = 1.0f, num = 0.0f, den = 0.0f;
    const float f = std::clamp(newest_fraction, 0.05f, 1.0f);
    num += counts[kBuckets - 1] * (1.0f / f) * f;
    den += f;
    w = decay;
    for (int i = kBuckets - 2; i >= 0; --i) {
        num += w * counts[i];
        den += w;
        w *= decay;
    }
    return den > 0 ? num / den : 0.0f;
}

}  // namespace rbdtier
