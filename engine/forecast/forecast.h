// Forecast: what every forecaster says about one extent (or one series) over a horizon H.
//
// `p_access` is the probability of at least one access within H; `expected` the expected number
// of accesses within H. ModelId names the models so ensembles and feedback can keep per-model
// scores. Poisson helpers turn an expected count into a probability and back.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/extent_key.h"

namespace rbdtier {

struct Forecast {
    double p_access = 0;
    double expected = 0;
};

inline double poisson_p_any(double expected) {
    return expected <= 0 ? 0.0 : 1.0 - std::exp(-expected);
}

enum class ModelId : std::size_t { kEwma = 0, kRecurrence, kScan, kCoAccess, kDrift, kCount };
inline constexpr std::size_t kModelCount = static_cast<std::size_t>(ModelId::kCount);
inline constexpr std::array<std::string_view, kModelCount> kModelNames = {
    "ewma", "recurrence", "scan", "coaccess", "drift"};
inline std::string_view model_name(ModelId m) {
    return kModelNames[static_cast<std::size_t>(m)];
}

// A forecast about one extent from an event-driven model (scan, co-access, drift): the extent
// may not be tracked yet. `eta_us` is when its first access is expected.
struct ExtentForecast {
    ExtentKey key = kNoExtent;
    Forecast forecast;
    ModelId model = ModelId::kEwma;
    std::uint64_t eta_us = 0;
};

}  // namespace rbdtier
