// Every policy on every synthetic workload: physics holds (the simulator throws otherwise),
// `none` moves nothing, and the oracle is an upper bound on the fast-tier share.
#include "engine/replay/replay_policies.h"

#include <gtest/gtest.h>

#include <map>

#include "engine/replay/replay_simulator.h"
#include "engine/replay/workload_generator.h"

namespace rbdtier {
namespace {

struct Outcome {
    std::map<std::string, ReplayResult> by_policy;
};

ReplayConfig constrained_config(const std::vector<IoEvent>& events) {
    ReplayConfig c = standard_replay_config(events, 0.05);
    c.bandwidth_bytes_per_s = 64.0 * (1 << 20);
    c.max_concurrent = 8;
    // One tenant per LUN, each allowed at most 60% of every fast tier.
    std::map<LunId, bool> luns;
    for (const auto& e : events) luns[e.lun] = true;
    for (const auto& [lun, _] : luns) {
        TenantModel t;
        t.name = "tenant" + std::to_string(lun);
        t.luns = {lun};
        for (const auto& tier : c.tiers)
            if (tier.spec.capacity_bytes)
                t.quota_bytes[tier.spec.id] =
                    tier.spec.capacity_bytes * 6 / 10 / c.extent_bytes * c.extent_bytes;
        c.tenants.push_back(t);
    }
    return c;
}

class EveryWorkload : public ::testing::TestWithParam<WorkloadKind> {
protected:
    static Outcome run_all(WorkloadKind kind) {
        WorkloadParams p;
#ifdef RBDTIER_SMALL_WORKLOADS  // sanitizer/Debug build: the same span, fewer I/Os per second
        p.duration_s = 900;
        p.iops = 15;
#else
        p.duration_s = 1800;
        p.iops = 100;
#endif
        p.seed = 3;
        const auto events = generate_workload(kind, p);
        const ReplayConfig config = constrained_config(events);
        const auto registry = replay_policy_registry();
        Outcome out;
        for (const auto& name : registry.names()) {
            auto policy = registry.create(name, {config, events});
            out.by_policy[name] = replay(config, events, *policy);  // throws on violation
        }
        return out;
    }
};

TEST_P(EveryWorkload, PhysicsHoldsAndOracleBoundsTheBaselines) {
    Outcome out;
    ASSERT_NO_THROW(out = run_all(GetParam()));
    const auto& none = out.by_policy.at("none");
    EXPECT_EQ(none.migrations, 0u);
    EXPECT_EQ(none.orders, 0u);
    EXPECT_EQ(none.fast_ios, 0u);
    const auto& oracle = out.by_policy.at("oracle");
    EXPECT_GT(oracle.migrations, 0u);
    for (const auto& [name, r] : out.by_policy) {
        SCOPED_TRACE(name);
        EXPECT_EQ(r.ios, none.ios);
        // Bandwidth: never more than the bucket plus the rate over the trace.
        const double budget = 64.0 * (1 << 20) * (r.trace_duration_us / 1e6 + 1);
        EXPECT_LE(static_cast<double>(r.bytes_migrated), budget);
        // The oracle is a look-ahead heuristic, not an optimum: it bounds the policies that
        // cannot see the future (a forecasting policy may beat it on short traces).
        if (name != "predictive" && name != "forecast") {
            EXPECT_GE(oracle.fast_share() + 1e-9, r.fast_share());
            EXPECT_LE(oracle.mean_latency_us, r.mean_latency_us * 1.0001 + 1);
        }
        EXPECT_LE(r.mean_latency_us, none.mean_latency_us * 1.0001 + 1);
        EXPECT_LE(r.useful_promotions + r.wasted_promotions,
                  r.promotions + 0);  // every promotion is judged at most once
    }
}

INSTANTIATE_TEST_SUITE_P(Workloads, EveryWorkload, ::testing::ValuesIn(all_workload_kinds()),
                         [](const auto& info) {
                             return std::string(workload_kind_name(info.param));
                         });

TEST(PolicyRegistry, KnowsTheBaselinesAndRefusesUnknownNames) {
    const auto registry = replay_policy_registry();
    for (const char* name : {"none", "reactive", "frequency", "oracle"})
        EXPECT_TRUE(registry.contains(name)) << name;
    ReplayConfig c = default_replay_config();
    std::vector<IoEvent> none;
    EXPECT_THROW(registry.create("bogus", {c, none}), std::invalid_argument);
    EXPECT_EQ(registry.create("reactive", {c, none})->name(), "reactive");
}

}  // namespace
}  // namespace rbdtier
