// ForecastCalibration: how far the forecasts of one AccessForecast come true, per LUN.
//
// Part of the prediction, not of a placement: it judges what the models said, whoever acted on
// it. A sample of per-extent forecasts is tracked until their horizon elapses, then scored
// (accessed or not) into the LUN's ModelReliability, which scales the models' forecasts. The
// sampled forecasts' expected accesses also feed the LUN's ForecastSkill (how much better than
// the base rate the forecasts tell extents apart), judged sooner: the accesses in the
// kSkillBuckets whole profiler buckets after the one the forecast was made in, scaled to H (so
// the engine learns within a minute or so whether a LUN's forecasts are worth anything).
// A promotion judged by a planner's Feedback is evidence about the model that caused it, so it
// is scored into the same ModelReliability (judged_promotion()): when several planners share one
// forecast, each judges its own promotions, and an extent two of them promoted counts twice.
//
// Not thread-safe: the thread that advances its AccessForecast (the engine thread) uses it.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

#include "engine/extent_table.h"
#include "engine/forecast/ensemble.h"
#include "engine/forecast/forecast.h"
#include "engine/forecast/forecast_skill.h"

namespace rbdtier {

class ForecastCalibration {
public:
    ForecastCalibration(std::uint64_t horizon_us, std::size_t max_tracked = 1 << 17);

    // Track a forecast (model said p; `expected` accesses within H, < 0: unknown) about `key`,
    // issued now. Forecasts with p < kMinTrackedP only feed the skill measure.
    static constexpr double kMinTrackedP = 0.05;
    static constexpr std::uint32_t kSkillBuckets = 3;
    void track_forecast(ExtentKey key, LunId lun, ModelId model, double p, std::uint64_t now_us,
                        double expected = -1);
    // Width of the profiler's buckets, to count accesses (0: skill not measured).
    void set_bucket_ticks(std::uint32_t ticks) { bucket_ticks_ = ticks; }
    // A promotion of `key` caused by `model` was judged: accessed within H (hit) or not.
    void judged_promotion(ExtentKey key, ModelId model, bool hit);

    // Scores every tracked forecast that is due against what `table` saw.
    void settle(std::uint64_t now_us, const ExtentTable& table);

    const ModelReliability& reliability(LunId lun) const;
    const ForecastSkill& skill(LunId lun) const;
    std::size_t tracked_forecasts() const { return forecasts_.size(); }

private:
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

    std::uint64_t horizon_us_;
    std::size_t max_tracked_;
    std::deque<Pending> forecasts_;
    std::deque<SkillSample> skill_samples_;
    std::unordered_map<LunId, ModelReliability> reliability_;
    ModelReliability default_reliability_;
    std::unordered_map<LunId, ForecastSkill> skill_;
    ForecastSkill default_skill_;
    std::uint32_t bucket_ticks_ = 0;
};

}  // namespace rbdtier
