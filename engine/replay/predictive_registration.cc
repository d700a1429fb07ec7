// Registers the engine's PredictivePolicy when engine/predictive_policy.h exists; otherwise
// the registry simply has no "predictive" entry.
#include "engine/replay/policy_registry.h"

#if !defined(RBDTIER_NO_PREDICTIVE) && __has_include("engine/predictive_policy.h")
#include "engine/predictive_policy.h"
#define RBDTIER_HAVE_PREDICTIVE 1
#endif

namespace rbdtier {

void register_predictive_policy(PolicyRegistry& registry) {
#ifdef RBDTIER_HAVE_PREDICTIVE
    registry.add("predictive", "forecast-driven cost/benefit placement (rbdtier engine)",
                 [](const PolicyContext& c) {
                     return std::make_unique<PredictivePolicy>(c.config.extent_bytes,
                                                               c.config.horizon_us);
                 });
#else
    (void)registry;
#endif
}

}  // namespace rbdtier
