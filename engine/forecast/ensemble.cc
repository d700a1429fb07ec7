#include "engine/forecast/ensemble.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

Ensemble::Ensemble(std::size_t models, double decay, double temperature)
    : decay_(decay), temperature_(temperature), error_(models, 0.0) {}

void Ensemble::update(std::span<const double> predictions, double actual) {
    const std::size_t n = std::min(predictions.size(), error_.size());
    for (std::size_t i = 0; i < n; ++i) {
        const double e = std::abs(predictions[i] - actual);
        error_[i] = updates_ == 0 ? e : (1 - decay_) * error_[i] + decay_ * e;
    }
    ++updates_;
}

std::vector<double> Ensemble::weights() const {
    const std::size_t n = error_.size();
    std::vector<double> w(n, n == 0 ? 0.0 : 1.0 / static_cast<double>(n));
    if (updates_ == 0 || n == 0) return w;
    double mean = 0;
    for (double e : error_) mean += e;
    mean /= static_cast<double>(n);
    if (mean <= 0) return w;
    const double best = *std::min_element(error_.begin(), error_.end());
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        w[i] = std::exp(-(error_[i] - best) / (mean * temperature_) * 4.0);
        sum += w[i];
    }
    for (double& x : w) x /= sum;
    return w;
}

double Ensemble::combine(std::span<const double> predictions) const {
    const auto w = weights();
    double s = 0;
    for (std::size_t i = 0; i < std::min(w.size(), predictions.size()); ++i)
        s += w[i] * predictions[i];
    return s;
}

ModelReliability::ModelReliability(double prior, double decay) : decay_(decay) {
    precision_.fill(prior);
    log_loss_.fill(std::log(2.0));
}

void ModelReliability::update(ModelId model, double p, bool accessed) {
    const std::size_t i = idx(model);
    precision_[i] = (1 - decay_) * precision_[i] + decay_ * (accessed ? 1.0 : 0.0);
    const double q = std::clamp(p, 1e-3, 1 - 1e-3);
    const double loss = accessed ? -std::log(q) : -std::log(1 - q);
    log_loss_[i] = (1 - decay_) * log_loss_[i] + decay_ * loss;
    ++outcomes_[i];
}

}  // namespace rbdtier
