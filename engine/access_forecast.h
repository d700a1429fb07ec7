// AccessForecast: what the engine predicts of a stream of I/O, whatever the placement.
//
// It holds the profiler (per-extent statistics in the extent table, per-LUN load series), the
// event models (scan, co-access, drift), anomaly detection, the per-LUN load models (EWMA,
// Holt-Winters with detected season, AR) and their ensemble, and the ForecastCalibration that
// judges the forecasts. Nothing in it depends on where extents are: the planners (TieringEngine,
// one per placement) read it and plan against their own placements, so several planners over one
// stream (the live and the ghost instance of a StrategySelector's forecast candidate) share one
// AccessForecast through a std::shared_ptr and the stream is profiled once.
//
// Time steps: advance(now) brings the prediction to `now` (drains what was recorded, refits the
// load models, takes each LUN's LunForecast, settles the calibration's due forecasts and gathers
// the event models' hints); it is idempotent for the same `now`, so every planner calls it at the
// start of its round and only the first call of a step does the work. Idle extents are forgotten
// (Profiler::evict_idle) at the next drain after a step that was due for it, so that every
// planner of a step scores the same table. claim_sampling(now) is true once per step: the
// planner that gets it samples its round's forecasts into calibration(), so a forecast is
// tracked once however many planners score it.
//
// Recording, by the profiler's serialized intake (engine/profiler.h): append(), for a caller
// serialized with the planners' rounds (a placement policy's observe(): no ring, no atomic); the
// I/O threads of a gateway reach a policy through LunRounds (engine/lun_rounds.h), which hands it
// their events in order. With several planners, only one of them (the recorder) must pass the
// stream on: records_for(planner) is true for the first planner that asks, until it release()s
// (its destruction), then for the next that asks. Drained accesses: every planner that
// subscribe()s is told those of every drain (its Feedback counts accesses to its promotions, and
// busy accesses for recall).
//
// Thread-safety: records_for() from any thread; everything else (append() included) on the one
// thread that drives the planners (the engine thread). A subscriber must release() before it is
// destroyed; a planner holds the AccessForecast (shared_ptr) for as long as it uses it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/anomaly.h"
#include "engine/cost_benefit.h"
#include "engine/engine_config.h"
#include "engine/forecast/coaccess_predictor.h"
#include "engine/forecast/drift_predictor.h"
#include "engine/forecast/scan_predictor.h"
#include "engine/forecast_calibration.h"
#include "engine/profiler.h"

namespace rbdtier {

// Load outlook of one LUN (LUN-level models).
struct LunOutlook {
    std::size_t period_buckets = 0;   // detected season (0 = none)
    double load_ratio = 1.0;          // forecast over H / recent level over H
    double forecast_next = 0;         // ensemble forecast of the next bucket
    std::array<double, 3> weights{};  // ensemble weights: ewma, holt-winters, ar
};

// What a planner's scoring reads of one LUN at the current step (the placement-independent part
// of its LunContext).
struct LunForecast {
    std::uint32_t period_ticks = 0;  // detected season of the LUN's load (0 = none)
    double load_ratio = 1.0;         // forecast load over H / recent load
    std::array<double, kModelCount> reliability{};
    float trust = 1.0f;
    float base_accesses = 0.0f;
    bool proven = true;

    // Sets these fields of `context`; the planner sets the rest (tenant, priority, home).
    void describe(LunContext& context) const {
        context.period_ticks = period_ticks;
        context.load_ratio = load_ratio;
        context.reliability = reliability;
        context.trust = trust;
        context.base_accesses = base_accesses;
        context.proven = proven;
    }
};

// One drained access, as a planner's feedback needs it.
struct DrainedAccess {
    ExtentKey key;
    LunId lun;
    std::uint64_t time_us;
    bool busy;  // the extent is in an episode of at least Feedback::kBusyEpisode accesses
};

class AccessForecast {
public:
    explicit AccessForecast(const EngineConfig& config);
    ~AccessForecast();
    AccessForecast(const AccessForecast&) = delete;
    AccessForecast& operator=(const AccessForecast&) = delete;

    const EngineConfig& config() const { return config_; }

    // Serialized intake, engine thread: `event` joins the batch the next drain folds.
    void append(const IoEvent& event) noexcept { profiler_.append(event); }
    bool records_for(const void* planner) noexcept {
        const void* recorder = recorder_.load(std::memory_order_acquire);
        if (recorder == planner) return true;
        if (recorder != nullptr) return false;
        return recorder_.compare_exchange_strong(recorder, planner) || recorder == planner;
    }
    // `planner` no longer records (nor subscribes); another planner may take over.
    void release(const void* planner) noexcept;

    using AccessListener = std::function<void(std::span<const DrainedAccess>)>;
    void subscribe(const void* planner, AccessListener listener);

    // Folds what was taken in since the last drain into the profiler, the event models and the
    // anomaly detector, and tells the subscribers.
    void drain(std::uint64_t now_us);
    // One time step (see the top of this file); nothing when the step at `now_us` was taken.
    void advance(std::uint64_t now_us);
    // True for the first caller of the step at `now_us`.
    bool claim_sampling(std::uint64_t now_us);
    // Steps taken so far.
    std::uint64_t steps() const { return steps_; }

    // The step's forecasts.
    const std::unordered_map<LunId, LunForecast>& luns() const { return luns_; }
    const std::unordered_map<LunId, LunOutlook>& outlooks() const { return outlooks_; }
    const std::unordered_map<ExtentKey, ExtentHint>& hints() const { return hints_; }
    bool quarantined(ExtentKey key) const { return anomaly_.quarantined(key); }
    const std::vector<AnomalyAlert>& alerts() const { return anomaly_.alerts(); }
    const Profiler& profiler() const { return profiler_; }
    ForecastCalibration& calibration() { return calibration_; }
    const ForecastCalibration& calibration() const { return calibration_; }
    std::uint64_t events() const { return events_; }
    // "" while every accessed extent is profiled; otherwise what the tracking limit costs (see
    // TieringEngine::tracking_limit_problem).
    std::string tracking_limit_problem() const;

private:
    struct LunModels;
    void consume(std::span<const IoEvent> events);
    void refit(std::uint64_t now_us);
    void collect_hints(std::uint64_t now_us);

    EngineConfig config_;
    Profiler profiler_;
    ScanPredictor scan_;
    CoAccessPredictor coaccess_;
    DriftPredictor drift_;
    AnomalyDetector anomaly_;
    ForecastCalibration calibration_;
    std::atomic<const void*> recorder_{nullptr};
    std::vector<std::pair<const void*, AccessListener>> listeners_;

    std::unordered_map<LunId, std::unique_ptr<LunModels>> lun_models_;
    std::unordered_map<LunId, LunOutlook> outlooks_;
    std::unordered_map<LunId, LunForecast> luns_;
    std::unordered_map<ExtentKey, ExtentHint> hints_;
    std::unordered_set<ExtentKey> started_;
    std::vector<ExtentForecast> forecasts_;
    std::uint64_t events_ = 0;
    std::uint64_t steps_ = 0;
    std::uint64_t step_us_ = 0;     // the last step's time
    std::uint64_t sampled_us_ = 0;  // the last step whose forecasts were sampled
    bool sampled_ = false;
    bool evict_due_ = false;  // the last step was due to forget idle extents
    std::uint64_t last_evict_us_ = 0;
    bool tracking_limit_logged_ = false;
};

}  // namespace rbdtier
