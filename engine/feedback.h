// Feedback: did what the engine predicted happen, and did its migrations pay?
//
// Promotions: when a promotion completes, the engine registers it; accesses that follow are
// counted (latency saved = accesses x latency difference); once its horizon has elapsed (or it
// is demoted first) it is judged a hit (accessed within H) or wasted. Precision, wasted bytes
// and latency saved are kept per model and per tenant. Recall: of the accesses to busy extents
// (in an episode of at least kBusyEpisode accesses), the share served from a tier the engine had
// promoted the extent to — per tenant (of its accesses), and per model (of all accesses, served
// thanks to that model's promotions: the models' recalls add up to the total).
// Forecasts: a sample of per-extent forecasts is tracked until their horizon elapses, then
// scored (accessed or not) into a per-LUN ModelReliability, which scales the models' forecasts;
// every judged promotion is scored there too, against the model that caused it. The sampled
// forecasts' expected accesses also feed the LUN's ForecastSkill (how much better than the base
// rate the forecasts tell extents apart), judged sooner: the accesses in the kSkillBuckets whole
// profiler buckets after the one the forecast was made in, scaled to H (so the engine learns
// within a minute or so whether a LUN's forecasts are worth anything).
// threshold_factor() adapts the benefit threshold: raised while promotions are mostly wasted,
// lowered while they mostly hit. settle() returns the promotions judged wasted, so they may be
// demoted early.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "engine/extent_table.h"
#include "engine/forecast/ensemble.h"
#include "engine/forecast/forecast.h"
#include "engine/forecast/forecast_skill.h"
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
    Feedback(std::uint64_t horizon_us, std::uint64_t extent_bytes,
             std::size_t max_tracked = 1 << 17);

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

    // Track a forecast (model said p; `expected` accesses within H, < 0: unknown) about `key`,
    // issued now. Forecasts with p < kMinTrackedP only feed the skill measure.
    static constexpr double kMinTrackedP = 0.05;
    static constexpr std::uint32_t kSkillBuckets = 3;
    void track_forecast(ExtentKey key, LunId lun, ModelId model, double p, std::uint64_t now_us,
                        double expected = -1);
    // Width of the profiler's buckets, to count accesses (0: skill not measured).
    void set_bucket_ticks(std::uint32_t ticks) { bucket_ticks_ = ticks; }

    // Judges everything due; returns promotions judged wasted since the last call.
    std::vector<ExtentKey> settle(std::uint64_t now_us, const ExtentTable& table);

    const ModelReliability& reliability(LunId lun) const;
    const ForecastSkill& skill(LunId lun) const;
    // A model's recall is out of all busy accesses: its busy_accesses is the total's.
    OutcomeCounters by_model(ModelId m) const {
        OutcomeCounters c = by_model_[static_cast<std::size_t>(m)];
        c.busy_accesses = total_.busy_accesses;
        return c;
    }
    const OutcomeCounters& by_tenant(TenantIndex t);
    const OutcomeCounters& total() const { return total_; }
    double threshold_factor() const { return threshold_factor_; }
    std::size_t tracked_forecasts() const { return forecasts_.size(); }

private:
    struct Promotion {
        TenantIndex tenant = 0;
        ModelId model = ModelId::kEwma;
        double saved_per_access_us = 0;
        std::uint64_t since_us = 0;
        std::uint64_t accesses = 0;
    };
    struct Pending {
        ExtentKey key;
        LunId lun;
        ModelId model;
        float p;
        std::uint32_t issued_tick;
        std::uint64_t due_us;
    };
    struct SkillSample {
        ExtentKey key;
        LunId lun;
        float expected;             // accesses within H, as forecast
        std::uint64_t last_bucket;  // the window: buckets (last - kSkillBuckets, last]
        std::uint64_t due_us;       // when bucket `last` is complete
    };
    void judge(ExtentKey key, const Promotion& p);

    std::uint64_t horizon_us_;
    std::uint64_t extent_bytes_;
    std::size_t max_tracked_;
    std::unordered_map<ExtentKey, Promotion> promotions_;
    std::unordered_map<ExtentKey, ModelId> promoted_by_;  // extents away from home, until demoted
    std::deque<Pending> forecasts_;
    std::deque<SkillSample> skill_samples_;
    std::unordered_map<LunId, ModelReliability> reliability_;
    ModelReliability default_reliability_;
    std::unordered_map<LunId, ForecastSkill> skill_;
    ForecastSkill default_skill_;
    std::uint32_t bucket_ticks_ = 0;
    std::array<OutcomeCounters, kModelCount> by_model_{};
    std::vector<OutcomeCounters> by_tenant_;
    OutcomeCounters total_;
    std::vector<ExtentKey> wasted_;
    // Adaptive threshold over a window of recent judgements.
    std::uint64_t window_judged_ = 0, window_hits_ = 0;
    double threshold_factor_ = 0;
};

}  // namespace rbdtier
