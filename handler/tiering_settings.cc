#include "handler/tiering_settings.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

TieringSettings resolve_tiering_settings(const LunConfig& lun, const GatewayConfig& gateway) {
    constexpr double kMinRoundS = 0.1;
    constexpr double kRoundsPerHorizon = 8;
    TieringSettings s;
    s.horizon_s = lun.horizon_s ? static_cast<double>(*lun.horizon_s) : gateway.horizon_s;
    const double round_s =
        std::max(kMinRoundS, std::min(gateway.round_s, s.horizon_s / kRoundsPerHorizon));
    s.round_us = static_cast<std::uint64_t>(std::llround(round_s * 1e6));
    s.bandwidth_bytes_per_s = gateway.migration_bandwidth_mib_s * (1 << 20);
    s.site = gateway.site;
    s.max_tracked_extents = gateway.max_tracked_extents;
    s.tenant_pool = !lun.tenant_pool.empty() ? lun.tenant_pool : gateway.tenant_pool;
    if (s.tenant_pool.empty() && !lun.tiers.empty()) s.tenant_pool = lun.tiers.front();
    for (const std::string& pool : lun.tiers) {
        if (auto it = gateway.tiers.find(pool); it != gateway.tiers.end())
            s.tier_overrides.emplace(pool, it->second);
    }
    return s;
}

}  // namespace rbdtier
