#include "engine/forecast/holt_winters_forecaster.h"

#include <algorithm>
#include <limits>

#include "engine/forecast/seasonality.h"

namespace rbdtier {

double HoltWintersForecaster::run(std::span<const double> x, double alpha, double beta,
                                  double gamma) {
    const std::size_t n = x.size();
    const std::size_t m = period_;
    double sse = 0;
    if (m == 0) {
        // Holt's linear method.
        level_ = x[0];
        trend_ = n > 1 ? x[1] - x[0] : 0.0;
        for (std::size_t t = 1; t < n; ++t) {
            const double pred = level_ + trend_;
            sse += (x[t] - pred) * (x[t] - pred);
            const double prev = level_;
            level_ = alpha * x[t] + (1 - alpha) * (level_ + trend_);
            trend_ = beta * (level_ - prev) + (1 - beta) * trend_;
        }
        season_.clear();
        pos_ = 0;
        return sse;
    }
    // Initial level: mean of season 1; trend: mean difference between seasons 1 and 2.
    double s1 = 0, s2 = 0;
    for (std::size_t i = 0; i < m; ++i) s1 += x[i];
    s1 /= static_cast<double>(m);
    if (n >= 2 * m) {
        for (std::size_t i = m; i < 2 * m; ++i) s2 += x[i];
        s2 /= static_cast<double>(m);
        trend_ = (s2 - s1) / static_cast<double>(m);
    } else {
        trend_ = 0;
    }
    season_.assign(m, 0.0);
    for (std::size_t i = 0; i < m; ++i)
        season_[i] = x[i] - (s1 + trend_ * (static_cast<double>(i) - (m - 1) / 2.0));
    level_ = s1 + trend_ * ((m - 1) / 2.0);
    for (std::size_t t = m; t < n; ++t) {
        const std::size_t ph = t % m;
        const double pred = level_ + trend_ + season_[ph];
        sse += (x[t] - pred) * (x[t] - pred);
        const double prev = level_;
        level_ = alpha * (x[t] - season_[ph]) + (1 - alpha) * (level_ + trend_);
        trend_ = beta * (level_ - prev) + (1 - beta) * trend_;
        season_[ph] = gamma * (x[t] - level_) + (1 - gamma) * season_[ph];
    }
    pos_ = n % m;
    return sse;
}

bool HoltWintersForecaster::fit(std::span<const double> x, std::size_t period) {
    fitted_ = false;
    if (x.size() < 4) return false;
    period_ = period != 0 ? period : detect_period(x);
    if (period_ != 0 && x.size() < period_ + 2) period_ = 0;
    static constexpr double kAlphas[] = {0.1, 0.3, 0.6};
    static constexpr double kBetas[] = {0.0, 0.05, 0.2};
    static constexpr double kGammas[] = {0.1, 0.3, 0.6};
    double best = std::numeric_limits<double>::infinity();
    double ba = alpha_, bb = beta_, bg = gamma_;
    for (double a : kAlphas)
        for (double b : kBetas)
            for (double g : kGammas) {
                if (period_ == 0 && g != kGammas[0]) continue;
                const double sse = run(x, a, b, g);
                if (sse < best) {
                    best = sse;
                    ba = a, bb = b, bg = g;
                }
            }
    alpha_ = ba, beta_ = bb, gamma_ = bg;
    run(x, alpha_, beta_, gamma_);
    fitted_ = true;
    return true;
}

double HoltWintersForecaster::forecast(std::size_t h) const {
    if (!fitted_ || h == 0) return 0.0;
    double v = level_ + static_cast<double>(h) * trend_;
    if (!season_.empty()) v += season_[(pos_ + h - 1) % season_.size()];
    return std::max(0.0, v);
}

double HoltWintersForecaster::total(std::size_t h) const {
    double s = 0;
    for (std::size_t i = 1; i <= h; ++i) s += forecast(i);
    return s;
}

}  // namespace rbdtier
