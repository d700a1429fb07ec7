#include "engine/predictive_policy.h"

// PredictivePolicy is header-only today; this unit keeps its vtable in the library.
namespace rbdtier {}  // namespace rbdtier
