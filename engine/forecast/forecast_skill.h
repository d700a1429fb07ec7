// ForecastSkill: does a LUN's per-extent forecast tell its extents apart better than the base
// rate does? Measured from feedback, it decides how far the engine may trust the differences
// between its extents' forecasts.
//
// Each judged sample pairs a forecast (expected accesses within H, as scored) with what came
// (accesses counted within H). Exponentially decayed sums give the LUN's base rate (mean
// accesses per sampled extent) and the least-squares slope b of outcome on forecast (how many
// more accesses came per access more forecast; the squares make the busy extents, whose
// forecasts drive the decisions, weigh most, where a correlation would drown them among many
// quiet ones). Until kMinSamples were judged the skill is unproven: trust() is 1 (forecasts are
// taken as they are) but the engine lets no extent displace another on an unproven forecast.
// Then trust() rises linearly from 0 at b = kNoSkill to 1 at b = kFullSkill. Under uniform
// random load every extent has the same future, the differences between forecasts are noise, b
// stays near 0 and the engine ranks all extents at the base rate (so nothing is displaced for
// nothing); under real structure b is well above kFullSkill (near 1 for calibrated forecasts).
// The engine regresses a forecast v toward the base rate: base + trust x (v - base).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace rbdtier {

class ForecastSkill {
public:
    static constexpr double kNoSkill = 0.1;
    static constexpr double kFullSkill = 0.3;
    static constexpr double kMinSamples = 200;

    explicit ForecastSkill(double decay = 1e-5) : keep_(1.0 - decay) {}

    void add(double forecast, double outcome) {
        w_ = w_ * keep_ + 1;
        f_ = f_ * keep_ + forecast;
        o_ = o_ * keep_ + outcome;
        ff_ = ff_ * keep_ + forecast * forecast;
        oo_ = oo_ * keep_ + outcome * outcome;
        fo_ = fo_ * keep_ + forecast * outcome;
        ++samples_;
    }
    std::size_t samples() const { return samples_; }
    double base_rate() const { return w_ > 0 ? o_ / w_ : 0.0; }
    double correlation() const {
        if (w_ <= 0) return 0.0;
        const double mf = f_ / w_, mo = o_ / w_;
        const double vf = ff_ / w_ - mf * mf, vo = oo_ / w_ - mo * mo;
        if (vf <= 1e-12 || vo <= 1e-12) return 0.0;
        return (fo_ / w_ - mf * mo) / std::sqrt(vf * vo);
    }
    bool proven() const { return static_cast<double>(samples_) >= kMinSamples; }
    double slope() const {
        if (w_ <= 0) return 0.0;
        const double mf = f_ / w_, mo = o_ / w_;
        const double vf = ff_ / w_ - mf * mf;
        return vf <= 1e-12 ? 0.0 : (fo_ / w_ - mf * mo) / vf;
    }
    double trust() const {
        if (!proven()) return 1.0;
        return std::clamp((slope() - kNoSkill) / (kFullSkill - kNoSkill), 0.0, 1.0);
    }

private:
    double keep_;
    double w_ = 0, f_ = 0, o_ = 0, ff_ = 0, oo_ = 0, fo_ = 0;
    std::size_t samples_ = 0;
};

}  // namespace rbdtier
