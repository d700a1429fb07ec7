#include "engine/engine_config.h"

#include <algorithm>
#include <bit>

#include "engine/extent_stats.h"

namespace rbdtier {

EngineConfig EngineConfig::validated() const {
    EngineConfig c = *this;
    if (c.extent_bytes == 0) c.extent_bytes = 4ull << 20;
    c.horizon_us = std::max<std::uint64_t>(c.horizon_us, 100 * kTickUs);
    if (c.bucket_us == 0)
        c.bucket_us = std::clamp<std::uint64_t>(c.horizon_us / 12, 1'000'000, 60'000'000);
    c.bucket_us = std::max<std::uint64_t>(kTickUs, c.bucket_us / kTickUs * kTickUs);
    if (c.episode_gap_us == 0) c.episode_gap_us = c.horizon_us / 2;
    if (c.min_residency_us == 0) c.min_residency_us = c.horizon_us / 12;
    if (c.idle_evict_us == 0) c.idle_evict_us = 64 * c.horizon_us;
    if (!(c.migration_bandwidth_bytes_per_s > 0))
        c.migration_bandwidth_bytes_per_s = 200.0 * (1 << 20);
    if (c.burst_bytes == 0)
        c.burst_bytes = static_cast<std::uint64_t>(c.migration_bandwidth_bytes_per_s);
    c.max_concurrent_migrations = std::max(1u, c.max_concurrent_migrations);
    c.max_orders_per_round = std::max<std::size_t>(1, c.max_orders_per_round);
    c.profiler_shards = std::clamp<std::size_t>(c.profiler_shards, 1, 256);
    c.profiler_ring_events = std::bit_ceil(std::max<std::size_t>(c.profiler_ring_events, 64));
    c.max_tracked_extents = std::max<std::size_t>(c.max_tracked_extents, 1024);
    c.benefit_margin = std::max(0.0, c.benefit_margin);
    c.move_cost_factor = std::max(0.0, c.move_cost_factor);
    c.idle_move_cost = std::max(0.0, c.idle_move_cost);
    return c;
}

}  // namespace rbdtier
