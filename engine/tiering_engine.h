// TieringEngine: the predictive engine, from recorded I/O to migration orders.
//
// record() is the hot path (any thread, lock-free, tens of ns). Everything else runs on one
// engine thread: plan_round(now, view) drains the profiler, feeds the event models (scan,
// co-access, drift) and anomaly detection, refits the per-LUN load models (EWMA, Holt-Winters
// with detected season, AR) and their ensemble, scores every tracked extent with TBB, and
// schedules the orders (best first; demotions that make room precede their promotions).
// migrated() is told what the executor completed. Status accessors expose forecast accuracy,
// alerts, the queue and statistics for an admin socket.
#pragma once

#include <tbb/task_arena.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/anomaly.h"
#include "engine/cost_benefit.h"
#include "engine/engine_config.h"
#include "engine/feedback.h"
#include "engine/forecast/coaccess_predictor.h"
#include "engine/forecast/drift_predictor.h"
#include "engine/forecast/ensemble.h"
#include "engine/forecast/scan_predictor.h"
#include "engine/placement_policy.h"
#include "engine/placement_state.h"
#include "engine/profiler.h"
#include "engine/resource_model.h"
#include "engine/scheduler.h"
#include "engine/tenant.h"

namespace rbdtier {

// Load outlook of one LUN (LUN-level models).
struct LunOutlook {
    std::size_t period_buckets = 0;   // detected season (0 = none)
    double load_ratio = 1.0;          // forecast over H / recent level over H
    double forecast_next = 0;         // ensemble forecast of the next bucket
    std::array<double, 3> weights{};  // ensemble weights: ewma, holt-winters, ar
};

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
    explicit TieringEngine(const EngineConfig& config);
    ~TieringEngine();
    TieringEngine(const TieringEngine&) = delete;
    TieringEngine& operator=(const TieringEngine&) = delete;

    void record(const IoEvent& event) noexcept { profiler_.record(event); }
    // Folds what was recorded since the last drain into the profiler and the event models,
    // without planning (plan_round() begins with it): for a caller that records faster than
    // the profiler's rings hold between two rounds.
    void drain(std::uint64_t now_us);
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
    const std::vector<AnomalyAlert>& alerts() const { return anomaly_.alerts(); }
    const Feedback& feedback() const { return feedback_; }
    Feedback& feedback() { return feedback_; }
    const SchedulerStats& scheduler_stats() const { return scheduler_.stats(); }
    std::size_t in_flight() const { return scheduler_.in_flight(); }
    // Issued orders still awaiting migrated() (refused or lost ones leave when they expire).
    std::size_t awaited_orders() const { return order_model_.size(); }
    const std::unordered_map<LunId, LunOutlook>& outlooks() const { return outlooks_; }
    ResourceModel& resources() { return resources_; }
    const Profiler& profiler() const { return profiler_; }
    const PlacementState& placement() const { return placement_; }
    // Forecast for one extent as the engine sees it now (for `rbdtier` heat/forecast views).
    ExtentScore explain(LunId lun, ExtentIndex extent) const;

    // For tests and benchmarks: score every tracked extent (parallel or serial).
    void score_all(bool parallel, std::vector<ExtentScore>& out);

private:
    struct LunModels;
    void consume(std::span<const IoEvent> events);
    void refresh_luns(std::uint64_t now_us, const PlacementView& view);
    void sync_capacity(const PlacementView& view);
    void collect_hints(std::uint64_t now_us);
    void prepare_context(std::uint64_t now_us);

    EngineConfig config_;
    TenantTable tenants_;
    ResourceModel resources_;
    Profiler profiler_;
    PlacementState placement_;
    ScanPredictor scan_;
    CoAccessPredictor coaccess_;
    DriftPredictor drift_;
    AnomalyDetector anomaly_;
    Feedback feedback_;
    Scheduler scheduler_;
    std::unique_ptr<tbb::task_arena> arena_;

    std::unordered_map<LunId, std::unique_ptr<LunModels>> lun_models_;
    std::unordered_map<LunId, LunOutlook> outlooks_;
    std::unordered_map<LunId, LunContext> lun_context_;
    std::unordered_map<ExtentKey, ExtentHint> hints_;
    std::unordered_map<ExtentKey, std::uint8_t> order_model_;  // order in flight -> model
    std::unordered_set<ExtentKey> started_;
    std::vector<ExtentForecast> forecasts_;
    ScoringContext ctx_;
    EngineStats stats_;
    bool tracking_limit_logged_ = false;
    std::uint64_t last_evict_us_ = 0;
    std::uint64_t last_bucket_ = 0;
};

}  // namespace rbdtier
