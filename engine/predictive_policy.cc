#include "engine/predictive_policy.h"

#include "engine/extent_key.h"
#include "engine/forecast/forecast.h"

namespace rbdtier {

namespace {

AccuracyCounters counters(std::string name, const OutcomeCounters& c) {
    AccuracyCounters a;
    a.name = std::move(name);
    a.promotions = c.promotions;
    a.hits = c.hits;
    a.wasted = c.wasted;
    a.wasted_bytes = c.wasted_bytes;
    a.precision = c.precision();
    a.recall = c.recall();
    a.latency_saved_us = c.latency_saved_us;
    return a;
}

}  // namespace

std::optional<ExtentOutlook> PredictivePolicy::outlook(LunId lun, ExtentIndex extent,
                                                       std::uint64_t now_us) const {
    const ExtentKey key = make_extent_key(lun, extent);
    const Profiler& profiler = engine_.profiler();
    const ExtentStats* stats = profiler.extents().find(key);
    if (stats == nullptr) return std::nullopt;  // never accessed, or forgotten as idle
    ExtentOutlook o;
    const std::uint64_t newest = profiler.bucket_of(now_us);
    for (std::uint64_t back = 0; back < static_cast<std::uint64_t>(kBuckets) && back <= newest;
         ++back)
        o.recent_accesses += stats->count_in_bucket(newest - back, profiler.bucket_ticks());
    const ExtentScore score = engine_.explain(lun, extent);
    o.p_access = score.p_access;
    o.forecast_accesses = score.value;
    o.best = score.best;
    o.net_benefit = score.gain_us;
    if (score.model < kModelCount) o.model = model_name(static_cast<ModelId>(score.model));
    return o;
}

std::optional<ForecastAccuracy> PredictivePolicy::accuracy() const {
    ForecastAccuracy a;
    Feedback& feedback = engine_.feedback();
    for (std::size_t m = 0; m < kModelCount; ++m)
        a.models.push_back(
            counters(std::string(kModelNames[m]), feedback.by_model(static_cast<ModelId>(m))));
    const auto& tenants = engine_.config().tenants;
    const std::size_t n = tenants.empty() ? 1 : tenants.size();
    for (std::size_t t = 0; t < n; ++t) {
        const OutcomeCounters& c = feedback.by_tenant(static_cast<TenantIndex>(t));
        // A tenant with nothing judged and no busy access has nothing to say (e.g. tenant 0,
        // "default", in the engine of a LUN that belongs to another tenant).
        if (n > 1 && c.promotions == 0 && c.busy_accesses == 0) continue;
        a.tenants.push_back(counters(tenants.empty() ? "default" : tenants[t].name, c));
    }
    a.total = counters("total", feedback.total());
    return a;
}

std::vector<PolicyAlert> PredictivePolicy::alerts() const {
    std::vector<PolicyAlert> out;
    for (const AnomalyAlert& alert : engine_.alerts()) {
        PolicyAlert p;
        p.kind = alert.kind == AnomalyKind::kScan ? "scan" : "overwrite burst";
        p.initiator = alert.initiator;
        p.first_extent = alert.first_extent;
        p.last_extent = alert.last_extent;
        p.extents = alert.extents;
        p.time_us = alert.time_us;
        p.description = alert.describe();
        out.push_back(std::move(p));
    }
    if (std::string problem = engine_.tracking_limit_problem(); !problem.empty()) {
        const EngineStats stats = engine_.stats();
        PolicyAlert p;
        p.kind = "tracking limit";
        p.extents = stats.max_tracked_extents;
        p.time_us = stats.last_untracked_us;
        p.description = std::move(problem);
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace rbdtier
