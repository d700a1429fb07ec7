// engine_config_for: the EngineConfig a PredictivePolicy runs with in a replay.
//
// The replay's tiers, its tenants (tenant 0 holds the LUNs of no tenant, then the replay's
// tenants in order, with their quotas and priorities), the local site (the replay's, else the
// home tier's), the extent size, the horizon, the migration bandwidth and concurrency, and the
// limit of tracked extents when the replay sets one; every other setting is taken from `knobs`
// (defaults unless a tool tunes them). One definition serves the policy registry and the
// benchmarks. Defined in predictive_registration.cc.
#pragma once

#include "engine/engine_config.h"
#include "engine/policy/tier_model.h"

namespace rbdtier {

EngineConfig engine_config_for(const StorageModel& replay, const EngineConfig& knobs = {});

}  // namespace rbdtier
