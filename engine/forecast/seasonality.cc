#include "engine/forecast/seasonality.h"

#include <vector>

namespace rbdtier {

double autocorrelation(std::span<const double> x, std::size_t lag) {
    const std::size_t n = x.size();
    if (lag >= n || n < 2) return 0.0;
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(n);
    double den = 0;
    for (double v : x) den += (v - mean) * (v - mean);
    if (den <= 0) return 0.0;
    double num = 0;
    for (std::size_t t = 0; t + lag < n; ++t) num += (x[t] - mean) * (x[t + lag] - mean);
    return num / den;
}

std::size_t detect_period(std::span<const double> x, std::size_t min_lag, double threshold) {
    const std::size_t n = x.size();
    if (min_lag < 2) min_lag = 2;
    if (n < 2 * min_lag + 2) return 0;
    const std::size_t max_lag = n / 2;
    std::vector<double> r(max_lag + 2, 0.0);
    for (std::size_t k = min_lag - 1; k <= max_lag + 1 && k < n; ++k) r[k] = autocorrelation(x, k);
    double best = 0;
    for (std::size_t k = min_lag; k <= max_lag; ++k)
        if (r[k] >= r[k - 1] && r[k] >= r[k + 1] && r[k] > best) best = r[k];
    if (best < threshold) return 0;
    for (std::size_t k = min_lag; k <= max_lag; ++k)
        if (r[k] >= r[k - 1] && r[k] >= r[k + 1] && r[k] >= 0.9 * best) return k;
    return 0;
}

}  // namespace rbdtier
