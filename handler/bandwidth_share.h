// share_bandwidth: the gateway's migration bandwidth budget divided between its tiered LUNs —
// equally between the tenants that have any, then equally between each tenant's LUNs — so a
// tenant with many LUNs gets no more than one with a single LUN. Pure.
#pragma once

#include <string>
#include <vector>

namespace rbdtier {

// tenants[i]: the tenant of LUN i. Returns each LUN's share of `total` (same order; they add up
// to `total` when there is any LUN).
std::vector<double> share_bandwidth(double total, const std::vector<std::string>& tenants);

}  // namespace rbdtier
