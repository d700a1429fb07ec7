#include "engine/feedback.h"

#include <algorithm>

namespace rbdtier {

Feedback::Feedback(std::uint64_t horizon_us, std::uint64_t extent_bytes,
                   ForecastCalibration& calibration)
    : horizon_us_(horizon_us), extent_bytes_(extent_bytes), calibration_(calibration) {}

const OutcomeCounters& Feedback::by_tenant(TenantIndex t) {
    if (t >= by_tenant_.size()) by_tenant_.resize(t + 1);
    return by_tenant_[t];
}

void Feedback::on_promotion(ExtentKey key, TenantIndex tenant, ModelId model,
                            double saved_per_access_us, std::uint64_t now_us) {
    if (auto it = promotions_.find(key); it != promotions_.end()) judge(key, it->second);
    promotions_[key] = {tenant, model, saved_per_access_us, now_us, 0};
    promoted_by_[key] = model;
}

void Feedback::on_demotion(ExtentKey key, std::uint64_t now_us) {
    (void)now_us;
    promoted_by_.erase(key);
    auto it = promotions_.find(key);
    if (it == promotions_.end()) return;
    judge(key, it->second);
    promotions_.erase(it);
}

void Feedback::on_access(ExtentKey key, std::uint64_t time_us) {
    if (promotions_.empty()) return;
    auto it = promotions_.find(key);
    if (it != promotions_.end() && time_us >= it->second.since_us) ++it->second.accesses;
}

void Feedback::on_busy_access(ExtentKey key, TenantIndex tenant, bool promoted) {
    if (tenant >= by_tenant_.size()) by_tenant_.resize(tenant + 1);
    for (OutcomeCounters* c : {&by_tenant_[tenant], &total_}) {
        ++c->busy_accesses;
        if (promoted) ++c->busy_accesses_promoted;
    }
    if (!promoted) return;
    if (auto it = promoted_by_.find(key); it != promoted_by_.end())
        ++by_model_[static_cast<std::size_t>(it->second)].busy_accesses_promoted;
}

void Feedback::judge(ExtentKey key, const Promotion& p) {
    // The model that caused the promotion answers for it in its LUN's reliability.
    calibration_.judged_promotion(key, p.model, p.accesses > 0);
    if (p.tenant >= by_tenant_.size()) by_tenant_.resize(p.tenant + 1);
    const bool hit = p.accesses > 0;
    for (OutcomeCounters* c :
         {&by_model_[static_cast<std::size_t>(p.model)], &by_tenant_[p.tenant], &total_}) {
        ++c->promotions;
        if (hit)
            ++c->hits;
        else {
            ++c->wasted;
            c->wasted_bytes += extent_bytes_;
        }
        c->latency_saved_us += static_cast<double>(p.accesses) * p.saved_per_access_us;
    }
    ++window_judged_;
    if (hit) ++window_hits_;
    if (!hit) wasted_.push_back(key);
    if (window_judged_ >= 32) {
        const double precision =
            static_cast<double>(window_hits_) / static_cast<double>(window_judged_);
        if (precision < 0.5)
            threshold_factor_ = std::min(4.0, threshold_factor_ + 0.25);
        else if (precision > 0.75)
            threshold_factor_ = std::max(0.0, threshold_factor_ - 0.25);
        window_judged_ = window_hits_ = 0;
    }
}

std::vector<ExtentKey> Feedback::settle(std::uint64_t now_us) {
    for (auto it = promotions_.begin(); it != promotions_.end();) {
        if (it->second.since_us + horizon_us_ <= now_us) {
            judge(it->first, it->second);
            it = promotions_.erase(it);
        } else {
            ++it;
        }
    }
    std::vector<ExtentKey> out;
    out.swap(wasted_);
    return out;
}

}  // namespace rbdtier
