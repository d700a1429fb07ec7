// ArForecaster: autoregressive AR(p) model fitted by least squares, optionally on the first
// difference of the series (ARIMA(p,1,0)).
//
// x_t = c + sum_i phi_i x_{t-i} + e_t. fit() solves the (slightly ridge-regularised) normal
// equations; forecast(h) iterates the recursion h steps ahead (integrating back when d = 1);
// total(h) sums steps 1..h. Forecasts are clamped at 0 (counts). Used for aggregate per-LUN /
// per-tenant load, where a few hundred buckets are available.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/forecast/forecast.h"

namespace rbdtier {

class ArForecaster {
public:
    explicit ArForecaster(std::size_t p = 3, int d = 0) : p_(p), d_(d) {}

    bool fit(std::span<const double> series);
    bool fitted() const { return fitted_; }
    const std::vector<double>& coefficients() const { return phi_; }  // phi_1..phi_p
    double intercept() const { return c_; }
    double forecast(std::size_t h) const;
    double total(std::size_t h) const;
    Forecast over(std::size_t h) const {
        const double e = total(h);
        return {poisson_p_any(e), e};
    }
    // Unclamped h-step path (for tests of the fitted dynamics).
    std::vector<double> path(std::size_t h) const;

private:
    std::size_t p_;
    int d_;
    bool fitted_ = false;
    double c_ = 0;
    std::vector<double> phi_;
    std::vector<double> tail_;  // last p values of the (differenced) series, oldest first
    double last_level_ = 0;     // last value of the original series (d = 1)
};

// Solves A x = b (n x n, row-major) by Gaussian elimination with partial pivoting; false when
// singular.
bool solve_linear(std::vector<double> a, std::vector<double> b, std::size_t n,
                  std::vector<double>& x);

}  // namespace rbdtier
