// Feedback: did the migrations of one planner (TieringEngine) pay?
//
// Part of the plan, not of the prediction: what it judges depends on the placement the planner
// works on (which extents it promoted, and from which tier an access was served), so every
// planner keeps its own, even when several share one AccessForecast.
// Promotions: when a promotion completes, the planner registers it; accesses that follow are
// counted (latency saved = accesses x latency difference); once its horizon has elapsed (or it
// is demoted first) it is judged a hit (accessed within H) or wasted. Precision, wasted bytes
// and latency saved are kept per model and per tenant; each judgement is also told to the
// forecast's ForecastCalibration, as evidence about the model that caused the promotion. Recall:
// of the accesses to busy extents (in an episode of at least kBusyEpisode accesses), the share
// served from a tier the planner had promoted the extent to — per tenant (of its accesses), and
// per model (of all accesses, served thanks to that model's promotions: the models' recalls add
// up to the total).
// threshold_factor() adapts the benefit threshold: raised while promotions are mostly wasted,
// lowered while they mostly hit. settle() returns the promotions judged wasted, so they may be
// demoted early.
//
// Not thread-safe: the planner's thread uses it. The ForecastCalibration must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/extent_key.h"
#include "engine/forecast/forecast.h"
#include "engine/forecast_calibration.h"
#include "engine/tenant.h"

namespace rbdtier {

struct OutcomeCounters {
    std::uint64_t promotions = 0;  // judged
    std::uint64_t hits = 0;
    std::uint64_t wasted = 0;
    std::uint64_t wasted_bytes = 0;
    double latency_saved_us = 0;
    std::uint64_t busy_accesses = 0;           // accesses to busy extents (recall denominator)
    std::uint64_t busy_accesses_promoted = 0;  // ... served from a promoted tier
    double precision() const {
        return promotions == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(promotions);
    }
    double recall() const {
        return busy_accesses == 0 ? 0.0
                                  : static_cast<double>(busy_accesses_promoted) /
                                        static_cast<double>(busy_accesses);
    }
};

class Feedback {
public:
    // Judged promotions are told to `calibration` as well.
    Feedback(std::uint64_t horizon_us, std::uint64_t extent_bytes,
             ForecastCalibration& calibration);

    // A promotion of `key` completed at now_us (`saved_per_access_us`: latency difference).
    void on_promotion(ExtentKey key, TenantIndex tenant, ModelId model, double saved_per_access_us,
                      std::uint64_t now_us);
    // `key` was demoted: a promotion still being judged is judged now.
    void on_demotion(ExtentKey key, std::uint64_t now_us);
    // Every access (engine thread, in time order).
    void on_access(ExtentKey key, std::uint64_t time_us);
    static constexpr std::uint16_t kBusyEpisode = 4;
    // An access to busy extent `key`; `promoted`: served from a faster tier than home.
    void on_busy_access(ExtentKey key, TenantIndex tenant, bool promoted);

    // Judges everything due; returns promotions judged wasted since the last call.
    std::vector<ExtentKey> settle(std::uint64_t now_us);

    // A model's recall is out of all busy accesses: its busy_accesses is the total's.
    OutcomeCounters by_model(ModelId m) const {
        OutcomeCounters c = by_model_[static_cast<std::size_t>(m)];
        c.busy_accesses = total_.busy_accesses;
        return c;
    }
    const OutcomeCounters& by_tenant(TenantIndex t);
    const OutcomeCounters& total() const { return total_; }
    double threshold_factor() const { return threshold_factor_; }

private:
    struct Promotion {
        TenantIndex tenant = 0;
        ModelId model = ModelId::kEwma;
        double saved_per_access_us = 0;
        std::uint64_t since_us = 0;
        std::uint64_t accesses = 0;
    };
    void judge(ExtentKey key, const Promotion& p);

    std::uint64_t horizon_us_;
    std::uint64_t extent_bytes_;
    ForecastCalibration& calibration_;
    std::unordered_map<ExtentKey, Promotion> promotions_;
    std::unordered_map<ExtentKey, ModelId> promoted_by_;  // extents away from home, until demoted
    std::array<OutcomeCounters, kModelCount> by_model_{};
    std::vector<OutcomeCounters> by_tenant_;
    OutcomeCounters total_;
    std::vector<ExtentKey> wasted_;
    // Adaptive threshold over a window of recent judgements.
    std::uint64_t window_judged_ = 0, window_hits_ = 0;
    double threshold_factor_ = 0;
};

}  // namespace rbdtier
