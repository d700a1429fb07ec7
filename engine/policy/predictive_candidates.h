// The strategies policy "predictive" chooses among, and the selector it runs
// (defined in predictive_registration.cc, which registers both "predictive" and "forecast").
//
// selector_candidates(config): the candidates of one StrategySelector, their factories ready to
// be called twice each (a live and a ghost instance). The forecast candidate's two instances
// share one AccessForecast (engine/access_forecast.h), so a list serves one selector.
// make_predictive_selector(config): the selector a LUN with policy=predictive runs.
// make_predictive(config): that selector as a LUN holds it, made at its first I/O
// (engine/policy/deferred_policy.h): an idle LUN holds the configuration, not the selector.
// All are pure functions of `config`; what they return is used on one thread.
#pragma once

#include <memory>
#include <vector>

#include "engine/placement_policy.h"
#include "engine/policy/strategy_selector.h"
#include "engine/policy/tier_model.h"

namespace rbdtier {

std::vector<StrategySelector::Candidate> selector_candidates(const StorageModel& config);
std::unique_ptr<StrategySelector> make_predictive_selector(const StorageModel& config);
std::unique_ptr<PlacementPolicy> make_predictive(const StorageModel& config);

}  // namespace rbdtier
