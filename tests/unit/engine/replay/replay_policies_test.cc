// Every policy on every synthetic workload: physics holds (the simulator throws otherwise),
// `none` moves nothing, and the oracle is an upper bound on the fast-tier share. Every policy
// told of a placement it did not order (PlacementPolicy::placement_changed: another gateway
// filled the fast tier, then this one took the LUN over) works from it: the extents put there by
// the other hand, never accessed since, make room for the LUN's hot extents.
#include "engine/replay/replay_policies.h"

#include <gtest/gtest.h>

#include <map>

#include "engine/replay/replay_simulator.h"
#include "engine/replay/workload_generator.h"
#include "tests/support/instant_executor.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

struct Outcome {
    std::map<std::string, ReplayResult> by_policy;
};

StorageModel constrained_config(const std::vector<IoEvent>& events) {
    StorageModel c = standard_replay_config(events, 0.05);
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
        const StorageModel config = constrained_config(events);
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
    StorageModel c = default_replay_config();
    std::vector<IoEvent> none;
    EXPECT_THROW(registry.create("bogus", {c, none}), std::invalid_argument);
    EXPECT_EQ(registry.create("reactive", {c, none})->name(), "reactive");
}

using test_events::kE;
using test_support::InstantExecutor;

constexpr TierId kFast = 0;
constexpr TierId kHome = 1;
constexpr std::uint64_t kExtents = 8;

class EveryPolicy : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPolicy, ExtentsPlacedByAnotherHandMakeRoomForHotOnes) {
    StorageModel config;
    const auto models = default_tier_models();
    config.tiers = {models[0], models[1]};  // nvme-a, hdd-a
    config.tiers[kFast].spec.id = kFast;
    config.tiers[kFast].spec.capacity_bytes = 2 * kE;
    config.tiers[kHome].spec.id = kHome;
    config.default_home = kHome;
    config.horizon_us = 60'000'000;
    // Extents 0 and 1 read every second for 30 minutes.
    constexpr std::uint64_t kSeconds = 1800;
    std::vector<IoEvent> events;
    for (std::uint64_t s = 0; s < kSeconds; ++s)
        for (std::uint64_t i = 0; i < 8; ++i)
            events.push_back(test_events::read_at(s * 1'000'000 + i * 1000, i % 2, 0,
                                                  ((s * 8 + i) % 1000) * 4096));
    std::vector<TierSpec> specs;
    for (const auto& t : config.tiers) specs.push_back(t.spec);
    auto policy = replay_policy_registry().create(GetParam(), {config, events});

    // Another gateway filled the fast tier with extents 6 and 7; this one takes the LUN over.
    InstantExecutor executor(specs, kHome, kExtents);
    executor.place(0, 6, kFast);
    executor.place(0, 7, kFast);
    policy->placement_changed(0, 0, executor);
    std::size_t next = 0;
    for (std::uint64_t s = 0; s < kSeconds; ++s) {
        for (; next < events.size() && events[next].time_us < (s + 1) * 1'000'000; ++next)
            policy->observe(events[next]);
        executor.run_round(*policy, (s + 1) * 1'000'000);
    }
    EXPECT_EQ(executor.tier_of(0, 0), kFast);
    EXPECT_EQ(executor.tier_of(0, 1), kFast);
    EXPECT_EQ(executor.used_bytes(kFast), 2 * kE);
}

// All but "none" (moves nothing) and "predictive": a selector whose first candidate is on
// probation, so it may not demote anything (its own extents included) within this run; its
// candidates are tested here one by one.
std::vector<std::string> moving_policies() {
    std::vector<std::string> out;
    for (const auto& name : replay_policy_registry().names())
        if (name != "none" && name != "predictive") out.push_back(name);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Policies, EveryPolicy, ::testing::ValuesIn(moving_policies()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rbdtier
