// EngineConfig: everything a TieringEngine (and PredictivePolicy) needs, in one struct.
//
// Built by the replay simulator from its tier model and by the handler from rbdtier.conf.
// Times are microseconds. Defaults suit 4 MiB extents, HDD/NVMe tiers and rounds of ~1 s.
// `validated()` returns a copy with out-of-range values clamped and derived values filled in;
// the engine calls it, so callers may leave anything at its default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/placement_policy.h"
#include "engine/tenant.h"

namespace rbdtier {

// Extents one engine profiles at most (~57 bytes each, so ~460 MB at the default); accesses to
// further extents are counted and raise a "tracking limit" alert (PredictivePolicy::alerts).
inline constexpr std::size_t kDefaultMaxTrackedExtents = 8'000'000;

struct EngineConfig {
    std::vector<TierSpec> tiers;      // every tier the engine may place extents in
    std::vector<TenantSpec> tenants;  // index = TenantIndex; empty = one default tenant
    std::unordered_map<LunId, TenantIndex> lun_tenant;  // LUNs not listed: tenant 0
    std::string local_site;             // the gateway's site; other sites cost distance
    double remote_site_penalty_us = 0;  // added per access to a tier at another site

    std::uint64_t extent_bytes = 4ull << 20;
    std::uint64_t horizon_us = 60'000'000;  // forecast horizon H
    std::uint64_t bucket_us = 0;            // width of one profiler time bucket (0 = H/12)
    std::uint64_t episode_gap_us = 0;       // idle gap that ends an access episode (0 = H/2)

    double migration_bandwidth_bytes_per_s = 200.0 * (1 << 20);
    std::uint64_t burst_bytes = 0;  // token bucket depth (0 = one second of bandwidth)
    unsigned max_concurrent_migrations = 16;
    std::size_t max_orders_per_round = 512;

    std::uint64_t min_residency_us = 0;  // hysteresis: 0 = H / 12
    double benefit_margin = 1.0;         // a displacing extent must be worth (1+margin)x more
    double benefit_threshold_us = 0;     // minimum net benefit of a migration (adapted)
    double min_expected_accesses = 0.5;  // a promotion needs this many credible accesses in H
    double displacement_z = 1.0;    // a displacing extent must beat the victim by z Poisson sigmas
    double move_cost_factor = 1.0;  // weight of the migration's I/O cost in the score
    double idle_move_cost = 0.1;    // move cost weight when both tiers are idle

    std::uint64_t idle_evict_us = 0;  // forget extents idle this long (0 = 64 horizons)
    std::size_t max_tracked_extents = kDefaultMaxTrackedExtents;
    // The profiler's concurrent intake: lock-free rings the I/O threads write into (built at the
    // first Profiler::record()). Their total capacity also bounds what the serialized intake
    // holds between two drains.
    std::size_t profiler_shards = 8;
    std::size_t profiler_ring_events = 1u << 15;  // events per ring (power of two)
    unsigned threads = 0;                         // scoring threads (0 = TBB's default)

    EngineConfig validated() const;
};

}  // namespace rbdtier
