// Cost/benefit scoring: for every tracked extent, what it is worth where it is and where it
// would be worth more.
//
// score_extent() is the per-extent kernel: it combines the forecasts of the extent models
// (EWMA of its bucket counts scaled by its LUN's load forecast, once its current episode has
// two accesses; recurrence; and the scan / co-access / drift hints), each scaled by its LUN's
// reliability for that model, into P(access within H) (noisy-OR) and expected accesses (the
// most credible model's), regressed toward the LUN's base rate as far as the LUN's measured
// forecast skill says (LunContext::trust: with no skill every extent is worth the base rate, so
// none displaces another); value =
// expected accesses x tenant priority. For each tier, benefit of moving there = value x latency
// saved; cost = bytes moved x load of source and destination (ResourceModel::move_cost_us).
// The best destination and its net gain are kept; the scheduler adds the cost of displacing.
// CostBenefit::score() runs the kernel over the whole ExtentTable either serially or in
// parallel with TBB (parallel_for over fixed blocks of slots, each scored into its own vector,
// then copied in parallel to prefix-summed offsets; no locks) and returns the same vector, in
// slot order, both ways.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/extent_table.h"
#include "engine/forecast/forecast.h"
#include "engine/placement_state.h"
#include "engine/resource_model.h"
#include "engine/tenant.h"

namespace rbdtier {

struct LunContext {
    TenantIndex tenant = 0;
    double priority = 1.0;
    TierId home = 0;
    std::uint32_t period_ticks = 0;  // detected season of the LUN's load (0 = none)
    double load_ratio = 1.0;         // forecast load over H / recent load (LUN-level models)
    std::array<double, kModelCount> reliability{};
    float trust = 1.0f;          // how far per-extent differences are believed (ForecastSkill)
    float base_accesses = 0.0f;  // the LUN's base rate: accesses within H per tracked extent
    bool proven = true;          // the LUN's forecast skill has been measured
};

// Forecasts of the event-driven models for one extent.
struct ExtentHint {
    std::array<float, kModelCount> p{};
    std::array<float, kModelCount> expected{};
};

struct ScoringContext {
    std::uint32_t now_tick = 0;
    std::uint32_t bucket_ticks = 1000;
    std::uint32_t horizon_ticks = 6000;
    std::uint32_t episode_gap_ticks = 3000;
    float ewma_alpha = 0.3f;
    std::uint64_t extent_bytes = 4ull << 20;
    double move_cost_factor = 1.0;
    TierId default_home = 0;
    const std::unordered_map<LunId, LunContext>* luns = nullptr;
    const PlacementState* placement = nullptr;
    const std::unordered_map<ExtentKey, ExtentHint>* hints = nullptr;
    // Dense per-TierId tables, filled by prepare().
    std::vector<TierId> tiers;             // fastest first
    std::vector<double> read_latency_us;   // indexed by TierId
    std::vector<double> write_latency_us;  // indexed by TierId
    std::vector<double> move_cost_us;      // [from * stride + to]
    std::size_t stride = 0;
    std::array<float, kBuckets> ewma_weights{};  // (1 - alpha)^age, filled by prepare()
    float ewma_tail_weight = 0;                  // sum of the weights of ages 1..kBuckets-1

    void prepare(const ResourceModel& resources);
    double latency(TierId t, double write_fraction) const {
        return (1 - write_fraction) * read_latency_us[t] + write_fraction * write_latency_us[t];
    }
};

struct ExtentScore {
    ExtentKey key = kNoExtent;
    float value = 0;     // expected accesses within H (regressed by trust) x tenant priority
    float forecast = 0;  // expected accesses within H as the models said (before regression)
    float p_access = 0;
    float gain_us = 0;  // net benefit of moving to `best` (<= 0 when staying is best)
    float write_fraction = 0;
    TierId current = 0;
    TierId best = 0;
    TierId home = 0;
    std::uint8_t model = 0;  // dominant ModelId
    bool proven = true;      // its LUN's forecast skill is measured: it may displace others
    TenantIndex tenant = 0;
};

ExtentScore score_extent(const ExtentStats& stats, const ScoringContext& ctx);
// Same, with the extent's LUN context already looked up (nullptr: look it up).
ExtentScore score_extent(const ExtentStats& stats, const ScoringContext& ctx,
                         const LunContext* lun);
// The LUN context scoring uses for `lun` (a default one when the LUN is unknown).
const LunContext& lun_context(const ScoringContext& ctx, LunId lun);

class CostBenefit {
public:
    // Scores of every extent worth keeping an eye on: value or forecast above `min_value`, or away
    // from home (candidates to displace). Same result serial or parallel.
    static void score(const ExtentTable& table, const ScoringContext& ctx, float min_value,
                      bool parallel, std::vector<ExtentScore>& out);
};

}  // namespace rbdtier
