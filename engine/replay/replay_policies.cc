#include "engine/replay/replay_policies.h"

#include <memory>

#include "engine/policy/ranked_placement.h"
#include "engine/replay/oracle_policy.h"

namespace rbdtier {

PolicyRegistry replay_policy_registry() {
    PolicyRegistry r = builtin_policy_registry();
    r.add("oracle", "knows the future accesses within the horizon (upper bound)",
          [](const PolicyContext& c) {
              return std::make_unique<OraclePolicy>(c.events, c.config.extent_bytes,
                                                    c.config.horizon_us,
                                                    TenantSlots::from(c.config));
          });
    return r;
}

}  // namespace rbdtier
