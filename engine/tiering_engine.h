// TieringEngine: the planner of one placement, from an AccessForecast to migration orders.
//
// What is predicted (profiler, event models, per-LUN load models, anomaly detection, the
// calibration of the forecasts) lives in an AccessForecast (engine/access_forecast.h), which the
// engine makes for itself or is handed, shared with other planners over the same I/O stream.
// What is planned lives here, one per placement: the placement state, the resource model (the
// tiers' capacities and latencies, narrowed each round to what the view says), the scoring
// context, the scheduler, the orders in flight and the Feedback on the promotions this engine's
// orders made.
//
// Each completed I/O comes in by observe() (the engine thread, serialized with the rounds: the
// forecast's serialized intake, no ring), which passes the event on to the forecast when this
// engine is the forecast's recorder (the first of its planners to observe).
// Everything else runs on one engine thread: plan_round(now, view) advances the forecast to
// `now` (once per time step, whichever of its planners comes first), builds each LUN's scoring
// context from the forecast and this placement, scores every tracked extent with TBB (in the
// process-wide ScoringArena of the configured thread count, engine/scoring_arena.h), and
// schedules the orders (best first; demotions that make room precede their promotions).
// migrated() is told what the executor completed. Status accessors expose forecast accuracy,
// alerts, the queue and statistics for an admin socket.
// The planners of one forecast run on one thread, and are configured alike (the forecast's
// configuration decides what is predicted; the engine's, what is planned).
#pragma once

#include <tbb/task_arena.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/access_forecast.h"
#include "engine/anomaly.h"
#include "engine/cost_benefit.h"
#include "engine/engine_config.h"
#include "engine/feedback.h"
#include "engine/placement_policy.h"
#include "engine/placement_state.h"
#include "engine/profiler.h"
#include "engine/resource_model.h"
#include "engine/scheduler.h"
#include "engine/tenant.h"

namespace rbdtier {

class RoundScores;

struct EngineStats {
    std::uint64_t rounds = 0;
    std::uint64_t events = 0;
    std::uint64_t dropped = 0;
    std::size_t tracked_extents = 0;
    std::size_t max_tracked_extents = 0;   // the limit (EngineConfig::max_tracked_extents)
    std::uint64_t untracked_accesses = 0;  // accesses to extents past the limit: not profiled
    std::uint64_t last_untracked_us = 0;   // the last of them
    double bytes_per_extent = 0;
    std::size_t scored = 0;  // extents scored in the last round
    std::size_t hinted = 0;  // extents with an event-model forecast in the last round
    std::size_t orders_last_round = 0;
    double threshold_us = 0;
    double min_accesses = 0;   // credible accesses within H a promotion needs (adapted)
    double score_seconds = 0;  // time spent scoring in the last round
};

class TieringEngine {
public:
    // With a forecast of its own.
    explicit TieringEngine(const EngineConfig& config);
    // Planning against `forecast`, shared with other planners of the same I/O stream.
    TieringEngine(const EngineConfig& config, std::shared_ptr<AccessForecast> forecast);
    ~TieringEngine();
    TieringEngine(const TieringEngine&) = delete;
    TieringEngine& operator=(const TieringEngine&) = delete;

    // Engine thread, serialized with plan_round(): the event joins the next round's batch.
    void observe(const IoEvent& event) noexcept {
        if (forecast_->records_for(this)) forecast_->append(event);
    }
    // Folds what was taken in since the last drain into the forecast, without planning
    // (plan_round() begins with it): for a caller that takes in more events between two rounds
    // than the profiler holds (EngineConfig::profiler_shards x profiler_ring_events).
    void drain(std::uint64_t now_us) { forecast_->drain(now_us); }
    std::vector<MigrationOrder> plan_round(std::uint64_t now_us, const PlacementView& view);
    void migrated(const MigrationOrder& order, std::uint64_t now_us);
    // The executor did not take `order` (see PlacementPolicy::dropped).
    void dropped(const MigrationOrder& order) { scheduler_.dropped(order); }
    // LUN `lun`'s placement changed by another hand (see PlacementPolicy::placement_changed):
    // where its extents are, and what its tenant uses, are read again from `view`.
    void placement_changed(LunId lun, const PlacementView& view);

    // Status.
    const EngineConfig& config() const { return config_; }
    EngineStats stats() const;
    // "" while every accessed extent is profiled; once an access found the extent table full
    // (max_tracked_extents), what that costs, with the limit and the count: logged as a warning
    // the first time, and PredictivePolicy's "tracking limit" alert.
    std::string tracking_limit_problem() const;
    const std::vector<AnomalyAlert>& alerts() const { return forecast_->alerts(); }
    const Feedback& feedback() const { return feedback_; }
    Feedback& feedback() { return feedback_; }
    const SchedulerStats& scheduler_stats() const { return scheduler_.stats(); }
    std::size_t in_flight() const { return scheduler_.in_flight(); }
    // Issued orders still awaiting migrated() (refused or lost ones leave when they expire).
    std::size_t awaited_orders() const { return order_model_.size(); }
    const std::unordered_map<LunId, LunOutlook>& outlooks() const { return forecast_->outlooks(); }
    ResourceModel& resources() { return resources_; }
    const Profiler& profiler() const { return forecast_->profiler(); }
    const AccessForecast& forecast() const { return *forecast_; }
    const std::shared_ptr<AccessForecast>& shared_forecast() const { return forecast_; }
    const PlacementState& placement() const { return placement_; }
    // Forecast for one extent as the engine sees it now (for `rbdtier` heat/forecast views).
    ExtentScore explain(LunId lun, ExtentIndex extent) const;

    // For tests and benchmarks: score every tracked extent (parallel or serial).
    void score_all(bool parallel, std::vector<ExtentScore>& out);

private:
    void on_drained(std::span<const DrainedAccess> accesses);
    void refresh_luns(const PlacementView& view);
    void sync_tiers(const PlacementView& view);
    void prepare_context(std::uint64_t now_us);
    void sample_forecasts(const RoundScores& scores, std::uint64_t now_us);

    EngineConfig config_;
    std::shared_ptr<AccessForecast> forecast_;
    TenantTable tenants_;
    ResourceModel resources_;
    PlacementState placement_;
    Feedback feedback_;
    Scheduler scheduler_;
    tbb::task_arena* arena_;  // the process-wide ScoringArena

    std::unordered_map<LunId, LunContext> lun_context_;
    std::unordered_map<ExtentKey, std::uint8_t> order_model_;  // order in flight -> model
    ScoringContext ctx_;
    EngineStats stats_;
};

}  // namespace rbdtier
