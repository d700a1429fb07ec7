// Ensembles: how the engine weights its models by their recent error.
//
// Ensemble (for models forecasting one series, e.g. a LUN's load with EWMA, Holt-Winters and
// AR): each model's absolute error is tracked as an exponentially weighted mean; weights are a
// softmax of -error/scale (scale = mean error of all models, so the weighting is unit-free).
// update() is called when a forecast's horizon has elapsed and the true value is known.
//
// ModelReliability (for specialist extent models that only speak about some extents: scan,
// co-access, recurrence, drift, EWMA): per model, an exponentially weighted precision
// (predicted accesses that came within H) and log loss; reliability() is the smoothed precision
// that scales the model's forecasts, starting from a prior.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "engine/forecast/forecast.h"

namespace rbdtier {

class Ensemble {
public:
    explicit Ensemble(std::size_t models, double decay = 0.1, double temperature = 1.0);

    void update(std::span<const double> predictions, double actual);
    std::vector<double> weights() const;
    double combine(std::span<const double> predictions) const;
    double error(std::size_t model) const { return error_[model]; }
    std::size_t updates() const { return updates_; }

private:
    double decay_;
    double temperature_;
    std::vector<double> error_;
    std::size_t updates_ = 0;
};

class ModelReliability {
public:
    explicit ModelReliability(double prior = 0.5, double decay = 0.02);

    // A forecast of `model` with probability p came true (accessed) or not.
    void update(ModelId model, double p, bool accessed);
    double reliability(ModelId model) const { return precision_[idx(model)]; }
    double log_loss(ModelId model) const { return log_loss_[idx(model)]; }
    std::size_t outcomes(ModelId model) const { return outcomes_[idx(model)]; }

private:
    static std::size_t idx(ModelId m) { return static_cast<std::size_t>(m); }
    double decay_;
    std::array<double, kModelCount> precision_{};
    std::array<double, kModelCount> log_loss_{};
    std::array<std::size_t, kModelCount> outcomes_{};
};

}  // namespace rbdtier
