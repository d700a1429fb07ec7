#include "engine/forecast/ar_forecaster.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

bool solve_linear(std::vector<double> a, std::vector<double> b, std::size_t n,
                  std::vector<double>& x) {
    for (std::size_t col = 0; col < n; ++col) {
        std::size_t piv = col;
        for (std::size_t r = col + 1; r < n; ++r)
            if (std::abs(a[r * n + col]) > std::abs(a[piv * n + col])) piv = r;
        if (std::abs(a[piv * n + col]) < 1e-12) return false;
        if (piv != col) {
            for (std::size_t k = 0; k < n; ++k) std::swap(a[col * n + k], a[piv * n + k]);
            std::swap(b[col], b[piv]);
        }
        for (std::size_t r = col + 1; r < n; ++r) {
            const double f = a[r * n + col] / a[col * n + col];
            if (f == 0) continue;
            for (std::size_t k = col; k < n; ++k) a[r * n + k] -= f * a[col * n + k];
            b[r] -= f * b[col];
        }
    }
    x.assign(n, 0.0);
    for (std::size_t i = n; i-- > 0;) {
        double s = b[i];
        for (std::size_t k = i + 1; k < n; ++k) s -= a[i * n + k] * x[k];
        x[i] = s / a[i * n + i];
    }
    return true;
}

bool ArForecaster::fit(std::span<const double> series) {
    fitted_ = false;
    std::vector<double> y(series.begin(), series.end());
    if (d_ == 1) {
        if (y.size() < 2) return false;
        last_level_ = y.back();
        for (std::size_t i = 0; i + 1 < y.size(); ++i) y[i] = y[i + 1] - y[i];
        y.pop_back();
    }
    const std::size_t n = y.size();
    if (n < p_ + 3) return false;
    const std::size_t k = p_ + 1;  // intercept + p lags
    std::vector<double> xtx(k * k, 0.0), xty(k, 0.0), row(k);
    double scale = 0;
    for (std::size_t t = p_; t < n; ++t) {
        row[0] = 1.0;
        for (std::size_t i = 1; i <= p_; ++i) row[i] = y[t - i];
        for (std::size_t i = 0; i < k; ++i) {
            xty[i] += row[i] * y[t];
            for (std::size_t j = 0; j < k; ++j) xtx[i * k + j] += row[i] * row[j];
        }
    }
    for (std::size_t i = 0; i < k; ++i) scale = std::max(scale, xtx[i * k + i]);
    const double ridge = 1e-9 * std::max(scale, 1.0);
    for (std::size_t i = 1; i < k; ++i) xtx[i * k + i] += ridge;
    std::vector<double> beta;
    if (!solve_linear(xtx, xty, k, beta)) return false;
    c_ = beta[0];
    phi_.assign(beta.begin() + 1, beta.end());
    tail_.assign(y.end() - static_cast<std::ptrdiff_t>(p_), y.end());
    fitted_ = true;
    return true;
}

std::vector<double> ArForecaster::path(std::size_t h) const {
    std::vector<double> out;
    if (!fitted_) return out;
    std::vector<double> hist = tail_;
    double level = last_level_;
    for (std::size_t s = 0; s < h; ++s) {
        double v = c_;
        for (std::size_t i = 1; i <= p_; ++i) v += phi_[i - 1] * hist[hist.size() - i];
        hist.push_back(v);
        if (d_ == 1) {
            level += v;
            out.push_back(level);
        } else {
            out.push_back(v);
        }
    }
    return out;
}

double ArForecaster::forecast(std::size_t h) const {
    if (h == 0) return 0.0;
    const auto p = path(h);
    return p.empty() ? 0.0 : std::max(0.0, p.back());
}

double ArForecaster::total(std::size_t h) const {
    double s = 0;
    for (double v : path(h)) s += std::max(0.0, v);
    return s;
}

}  // namespace rbdtier
