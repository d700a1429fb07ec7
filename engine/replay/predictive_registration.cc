// Registers "predictive" (the engine's forecast-driven PredictivePolicy) and "adaptive" (a
// StrategySelector over reactive, frequency and that forecast placement) when
// engine/predictive_policy.h exists and rbdtier_engine is linked; otherwise the registry simply
// has neither entry.
// The engine's configuration is derived from the replay configuration (engine_config_for, see
// predictive_config.h), so that the policy knows the same tiers, tenants, extent size, horizon
// and migration budget as the executor.
#include "engine/replay/policy_registry.h"

#if !defined(RBDTIER_NO_PREDICTIVE) && __has_include("engine/predictive_policy.h")
#include "engine/predictive_policy.h"
#include "engine/replay/baseline_policies.h"
#include "engine/replay/caching_policies.h"
#include "engine/replay/predictive_config.h"
#include "engine/strategy_selector.h"
#define RBDTIER_HAVE_PREDICTIVE 1
#endif

namespace rbdtier {

#ifdef RBDTIER_HAVE_PREDICTIVE
EngineConfig engine_config_for(const ReplayConfig& replay, const EngineConfig& knobs) {
    EngineConfig c = knobs;
    c.tiers.clear();
    for (const auto& t : replay.tiers) c.tiers.push_back(t.spec);
    c.tenants = {TenantSpec{}};  // tenant 0: LUNs of no tenant
    c.lun_tenant.clear();
    for (std::size_t i = 0; i < replay.tenants.size(); ++i) {
        const auto& t = replay.tenants[i];
        TenantSpec spec;
        spec.name = t.name;
        spec.quota_bytes = t.quota_bytes;
        spec.priority = t.priority;
        c.tenants.push_back(spec);
        for (LunId lun : t.luns) c.lun_tenant[lun] = static_cast<TenantIndex>(i + 1);
    }
    c.local_site = !replay.local_site.empty() ? replay.local_site
                                              : replay.tiers.at(replay.default_home).spec.site;
    c.extent_bytes = replay.extent_bytes;
    c.horizon_us = replay.horizon_us;
    c.migration_bandwidth_bytes_per_s = replay.bandwidth_bytes_per_s;
    c.max_concurrent_migrations = replay.max_concurrent;
    return c;
}

// A StrategySelector over reactive, none, frequency and the forecast engine; each shadow
// migration costs one access of its source tier and one of its destination.
std::unique_ptr<PlacementPolicy> make_adaptive(const ReplayConfig& config, std::string name) {
    const EngineConfig engine = engine_config_for(config);
    const TenantSlots quotas = TenantSlots::from(config);
    std::vector<StrategySelector::Candidate> candidates = {
        {"reactive", [&config] { return std::make_unique<ReactivePolicy>(config.extent_bytes); }},
        {"none", [] { return std::make_unique<NonePolicy>(); }},
        {"frequency",
         [&config, quotas] {
             return std::make_unique<FrequencyPolicy>(config.extent_bytes, FrequencyParams{},
                                                      quotas);
         }},
        {"forecast", [engine] { return std::make_unique<PredictivePolicy>(engine, "forecast"); }},
    };
    for (const auto& v : caching_variants())
        candidates.push_back({v.name, [&config, v] { return make_caching_policy(v, config); }});
    return std::make_unique<StrategySelector>(std::move(name), candidates, config.channel());
}
#endif

void register_predictive_policy(PolicyRegistry& registry) {
#ifdef RBDTIER_HAVE_PREDICTIVE
    registry.add("adaptive",
                 "follows, per LUN, whichever of reactive, none, frequency and forecast placement "
                 "does best in shadow simulations of the live stream, migrations paid for (rbdtier "
                 "engine)",
                 [](const PolicyContext& c) { return make_adaptive(c.config, "adaptive"); });
    registry.add("predictive", "forecast-driven cost/benefit placement (rbdtier engine)",
                 [](const PolicyContext& c) {
                     return std::make_unique<PredictivePolicy>(engine_config_for(c.config),
                                                               "predictive");
                 });
#else
    (void)registry;
#endif
}

}  // namespace rbdtier
