#include "engine/forecast_calibration.h"

namespace rbdtier {

ForecastCalibration::ForecastCalibration(std::uint64_t horizon_us, std::size_t max_tracked)
    : horizon_us_(horizon_us), max_tracked_(max_tracked) {}

const ModelReliability& ForecastCalibration::reliability(LunId lun) const {
    auto it = reliability_.find(lun);
    return it == reliability_.end() ? default_reliability_ : it->second;
}

const ForecastSkill& ForecastCalibration::skill(LunId lun) const {
    auto it = skill_.find(lun);
    return it == skill_.end() ? default_skill_ : it->second;
}

void ForecastCalibration::judged_promotion(ExtentKey key, ModelId model, bool hit) {
    reliability_[key_lun(key)].update(model, 0.9, hit);
}

void ForecastCalibration::track_forecast(ExtentKey key, LunId lun, ModelId model, double p,
                                         std::uint64_t now_us, double expected) {
    if (p >= kMinTrackedP && forecasts_.size() < max_tracked_)
        forecasts_.push_back(
            {key, lun, model, static_cast<float>(p), to_tick(now_us), now_us + horizon_us_});
    if (expected >= 0 && bucket_ticks_ != 0 && skill_samples_.size() < max_tracked_) {
        const std::uint64_t last = to_tick(now_us) / bucket_ticks_ + kSkillBuckets;
        skill_samples_.push_back(
            {key, lun, static_cast<float>(expected), last,
             tick_to_us(static_cast<std::uint32_t>((last + 1) * bucket_ticks_))});
    }
}

void ForecastCalibration::settle(std::uint64_t now_us, const ExtentTable& table) {
    while (!forecasts_.empty() && forecasts_.front().due_us <= now_us) {
        const Pending& f = forecasts_.front();
        const ExtentStats* s = table.find(f.key);
        const bool accessed = s != nullptr && s->last_tick > f.issued_tick;
        reliability_[f.lun].update(f.model, f.p, accessed);
        forecasts_.pop_front();
    }
    // What came in the window, scaled to H (forecasts and the base rate are per H).
    const double window_us = static_cast<double>(kSkillBuckets) * bucket_ticks_ * kTickUs;
    const double to_horizon = window_us > 0 ? static_cast<double>(horizon_us_) / window_us : 1.0;
    while (!skill_samples_.empty() && skill_samples_.front().due_us <= now_us) {
        const SkillSample& f = skill_samples_.front();
        double came = 0;
        if (const ExtentStats* s = table.find(f.key))
            for (std::uint32_t i = 0; i < kSkillBuckets; ++i)
                came += s->count_in_bucket(f.last_bucket - i, bucket_ticks_);
        skill_[f.lun].add(f.expected, came * to_horizon);
        skill_samples_.pop_front();
    }
}

}  // namespace rbdtier
