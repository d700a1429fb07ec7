// ScoringCandidates: everything the cost/benefit scorer reads, built over one EngineConfig: a
// profiler (the candidate extents), tier resources, placement, LUN contexts and forecast hints.
// Callers record I/O into `profiler`, place extents, add LUNs, then call prepare(now_us), which
// points `ctx` at this object's state; `ctx` is valid while the object lives and is not moved.
// Header-only; shared by the engine unit tests and bench_engine.
#pragma once

#include <cstdint>
#include <random>
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

    // `events` random 4 KiB I/Os (a quarter of them writes) over extents [0, extents) of LUNs
    // 1..4, 50 µs apart from time 0, folded into `profiler`; returns the time of the last.
    std::uint64_t record_random(std::mt19937_64& rng, int events, std::uint64_t extents) {
        IoEvent e;
        e.length = 4096;
        for (int i = 0; i < events; ++i) {
            e.lun = 1 + static_cast<LunId>(rng() % 4);
            e.offset = (rng() % extents) * cfg.extent_bytes;
            e.time_us = static_cast<std::uint64_t>(i) * 50;
            e.op = rng() % 4 == 0 ? IoOp::kWrite : IoOp::kRead;
            profiler.record(e);
            if (i % 10'000 == 0) profiler.drain(e.time_us);
        }
        profiler.drain(e.time_us);
        return e.time_us;
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
