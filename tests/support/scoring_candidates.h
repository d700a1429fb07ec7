// ScoringCandidates: everything the cost/benefit scorer reads, built over one EngineConfig: a
// profiler (the candidate extents), tier resources, placement, LUN contexts and forecast hints.
// Callers record I/O into `profiler`, place extents, add LUNs, then call prepare(now_us), which
// points `ctx` at this object's state; `ctx` is valid while the object lives and is not moved.
// Header-only; shared by the engine unit tests and bench_engine.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>

#include "engine/cost_benefit.h"
#include "engine/profiler.h"

namespace rbdtier::test_support {

struct ScoringCandidates {
    EngineConfig cfg;
    TenantTable tenants;
    ResourceModel resources{cfg};
    Profiler profiler{cfg};
    PlacementState placement{tenants, cfg.extent_bytes};
    std::unordered_map<LunId, LunContext> luns;
    std::unordered_map<ExtentKey, ExtentHint> hints;
    ScoringContext ctx;

    explicit ScoringCandidates(EngineConfig config) : cfg(std::move(config)) {}
    ScoringCandidates(const ScoringCandidates&) = delete;
    ScoringCandidates& operator=(const ScoringCandidates&) = delete;

    // LUNs first..last, homed on tier 1, each predictor trusted with `reliability`.
    void add_luns(LunId first, LunId last, double reliability) {
        LunContext lc;
        lc.home = 1;
        lc.reliability.fill(reliability);
        for (LunId lun = first; lun <= last; ++lun) luns[lun] = lc;
    }

    // Fills `ctx` for a scoring round at `now_us`.
    void prepare(std::uint64_t now_us) {
        ctx.now_tick = to_tick(now_us);
        ctx.bucket_ticks = profiler.bucket_ticks();
        ctx.horizon_ticks = static_cast<std::uint32_t>(cfg.horizon_us / kTickUs);
        ctx.episode_gap_ticks = static_cast<std::uint32_t>(cfg.episode_gap_us / kTickUs);
        ctx.luns = &luns;
        ctx.placement = &placement;
        ctx.hints = &hints;
        ctx.prepare(resources);
    }
};

}  // namespace rbdtier::test_support
