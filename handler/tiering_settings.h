// TieringSettings: what one tiered LUN runs with, resolved once at open from its cfgstring
// (LunConfig) first, then the gateway's rbdtier.conf (GatewayConfig), then the built-in defaults
// (a default GatewayConfig). Horizon: cfgstring horizon=, else conf horizon_s. Round: conf
// round_s, but at least 8 rounds per horizon and never under 0.1 s. Local site: conf site (tiers
// at other sites cost the remote penalty). Tenant pool: cfgstring tenant_pool=, else conf
// tenant_pool, else the first tier. Tier overrides: the conf's [tier POOL] sections, applied
// over what discovery found (engine/policy/tier_model.h: apply_tier_override, lun_policy_config);
// a cfgstring quota= caps a tier's capacity further. Tracked extents: conf max_tracked_extents. The
// migration bandwidth here is the whole gateway's budget; the Gateway divides it between its open
// LUNs (Gateway::add_lun). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "engine/placement_policy.h"
#include "handler/gateway_config.h"
#include "handler/lun_config.h"

namespace rbdtier {

struct TieringSettings {
    double horizon_s = GatewayConfig{}.horizon_s;
    std::uint64_t round_us = 1'000'000;
    double bandwidth_bytes_per_s = GatewayConfig{}.migration_bandwidth_mib_s * (1 << 20);
    std::string site = GatewayConfig{}.site;
    std::string tenant_pool;  // resolved: never empty for a LUN with tiers
    std::map<std::string, TierOverride> tier_overrides;                       // by pool
    std::uint64_t max_tracked_extents = GatewayConfig{}.max_tracked_extents;  // conf's

    bool operator==(const TieringSettings&) const = default;
};

TieringSettings resolve_tiering_settings(const LunConfig& lun, const GatewayConfig& gateway);

// What a tiered LUN's rounds run with now: its policy (by name), horizon and round (seconds).
struct TieringInForce {
    std::string policy;
    double horizon_s = 0;
    double round_s = 0;
    bool operator==(const TieringInForce&) const = default;
};

}  // namespace rbdtier
