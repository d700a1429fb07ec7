// HoltWintersForecaster: additive Holt-Winters (level + trend + season) over a bucket series.
//
// fit() detects the season length by autocorrelation (detect_period) unless one is given,
// initialises level/trend/season from the first seasons, and picks (alpha, beta, gamma) from a
// small grid by one-step-ahead squared error. Without a detectable season it degrades to Holt's
// linear trend method. forecast(h) is the h-step-ahead value; total(h) the sum of steps 1..h.
// Forecasts are clamped at 0 (counts).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/forecast/forecast.h"

namespace rbdtier {

class HoltWintersForecaster {
public:
    // period 0: detect automatically.
    bool fit(std::span<const double> series, std::size_t period = 0);
    bool fitted() const { return fitted_; }
    std::size_t period() const { return period_; }
    double forecast(std::size_t h) const;
    double total(std::size_t h) const;
    Forecast over(std::size_t h) const {
        const double e = total(h);
        return {poisson_p_any(e), e};
    }
    double alpha() const { return alpha_; }
    double beta() const { return beta_; }
    double gamma() const { return gamma_; }

private:
    // Runs the recursions; returns the one-step squared error sum (and keeps the final state).
    double run(std::span<const double> x, double alpha, double beta, double gamma);

    bool fitted_ = false;
    std::size_t period_ = 0;
    double alpha_ = 0.3, beta_ = 0.05, gamma_ = 0.3;
    double level_ = 0, trend_ = 0;
    std::vector<double> season_;  // season_[i]: component for phase i (phase of next step = pos_)
    std::size_t pos_ = 0;
};

}  // namespace rbdtier
