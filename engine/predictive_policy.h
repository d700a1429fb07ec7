// PredictivePolicy: the TieringEngine behind the PlacementPolicy contract: policy "forecast", and
// the forecast candidate of the StrategySelector that policy "predictive" runs
// (engine/policy/predictive_registration.cc).
//
// The replay simulator and a live LUN's rounds (engine/lun_rounds.h) drive it alike. observe()
// hands the event to the engine's forecast (TieringEngine::observe: the policy's caller is
// serialized, so no ring), plan() runs one engine round, migrated() reports
// completions. Built from one EngineConfig, with a forecast of its own or one shared with other
// instances over the same I/O stream (the selector's live and ghost instance: each plans
// against its own placement; see engine/access_forecast.h). Introspection: outlook()
// from the profiler (heat) and the engine's explain(), accuracy() from its feedback (per
// model and per tenant), alerts() from its anomaly detector and, once the
// engine's extent table was full for an access, a "tracking limit" alert.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/engine_config.h"
#include "engine/placement_policy.h"
#include "engine/tiering_engine.h"

namespace rbdtier {

class PredictivePolicy : public PlacementPolicy {
public:
    explicit PredictivePolicy(const EngineConfig& config, std::string name = "predictive")
        : engine_(config), name_(std::move(name)) {}
    PredictivePolicy(const EngineConfig& config, std::shared_ptr<AccessForecast> forecast,
                     std::string name)
        : engine_(config, std::move(forecast)), name_(std::move(name)) {}

    std::string_view name() const override { return name_; }
    void observe(const IoEvent& io) override { engine_.observe(io); }
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override {
        return engine_.plan_round(now_us, view);
    }
    // The observed I/O is folded into the forecast's profile (TieringEngine::drain).
    void unplanned_round(std::uint64_t now_us) override { engine_.drain(now_us); }
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override {
        engine_.migrated(order, now_us);
    }
    void dropped(const MigrationOrder& order, std::uint64_t) override { engine_.dropped(order); }
    void placement_changed(LunId lun, std::uint64_t, const PlacementView& view) override {
        engine_.placement_changed(lun, view);
    }

    std::optional<ExtentOutlook> outlook(LunId lun, ExtentIndex extent,
                                         std::uint64_t now_us) const override;
    std::optional<ForecastAccuracy> accuracy() const override;
    std::vector<PolicyAlert> alerts() const override;

    TieringEngine& engine() { return engine_; }
    const TieringEngine& engine() const { return engine_; }

private:
    // mutable: Feedback::by_tenant() sizes its table on first use (a read for us).
    mutable TieringEngine engine_;
    std::string name_;
};

}  // namespace rbdtier
