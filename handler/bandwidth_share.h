// share_bandwidth: the gateway's migration bandwidth budget divided between its tiered LUNs —
// between the tenants that have any in proportion to their bandwidth weights (1 when not
// known), then equally between each tenant's LUNs — so a tenant with many LUNs gets no more than
// its weight allows. Pure.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rbdtier {

// tenants[i]: the tenant of LUN i; weights: by tenant (absent or not positive: 1). Returns each
// LUN's share of `total` (same order; they add up to `total` when there is any LUN).
std::vector<double> share_bandwidth(double total, const std::vector<std::string>& tenants,
                                    const std::map<std::string, double>& weights = {});

}  // namespace rbdtier
