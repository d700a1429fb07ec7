// The policies `rbdtier replay` compares, by name: every policy the gateway can run
// (builtin_policy_registry) plus the replay-only ones, which need the recorded future and so
// cannot run live: "oracle" (knows the accesses within the horizon; the upper bound).
#pragma once

#include "engine/policy/policy_registry.h"

namespace rbdtier {

PolicyRegistry replay_policy_registry();

}  // namespace rbdtier
