// The product's acceptance criteria for the predictive policy (skipped until the engine's
// PredictivePolicy is registered): on every structured workload it beats reactive and frequency
// on mean latency and closes at least 80% of the none -> oracle gap; on uniform random it is no
// worse than none and migrates no more than it takes to fill the fast tiers' free room once.
#include <gtest/gtest.h>

#include <map>

#include "engine/replay/policy_registry.h"
#include "engine/replay/replay_simulator.h"
#include "engine/replay/workload_generator.h"

namespace rbdtier {
namespace {

std::map<std::string, ReplayResult> run(WorkloadKind kind) {
    WorkloadParams p;
    p.duration_s = 3600;
    p.iops = 200;
    p.seed = 11;
    const auto events = generate_workload(kind, p);
    const ReplayConfig config = standard_replay_config(events);
    const auto registry = builtin_policy_registry();
    std::map<std::string, ReplayResult> out;
    for (const char* name : {"none", "reactive", "frequency", "oracle", "predictive"}) {
        auto policy = registry.create(name, {config, events});
        out[name] = replay(config, events, *policy);
    }
    return out;
}

class Structured : public ::testing::TestWithParam<WorkloadKind> {};

TEST_P(Structured, PredictiveBeatsBaselinesAndClosesTheGap) {
    if (!builtin_policy_registry().contains("predictive"))
        GTEST_SKIP() << "predictive policy not built yet";
    const auto r = run(GetParam());
    const double none = r.at("none").mean_latency_us, oracle = r.at("oracle").mean_latency_us;
    const double pred = r.at("predictive").mean_latency_us;
    EXPECT_LT(pred, r.at("reactive").mean_latency_us);
    EXPECT_LT(pred, r.at("frequency").mean_latency_us);
    ASSERT_GT(none, oracle);
    const double closed = (none - pred) / (none - oracle);
    EXPECT_GE(closed, 0.8) << "predictive " << pred << " us, none " << none << " us, oracle "
                           << oracle << " us";
}

INSTANTIATE_TEST_SUITE_P(Workloads, Structured,
                         ::testing::Values(WorkloadKind::kPeriodic, WorkloadKind::kDiurnal,
                                           WorkloadKind::kScan, WorkloadKind::kShifting),
                         [](const auto& info) {
                             return std::string(workload_kind_name(info.param));
                         });

TEST(Unstructured, PredictiveNoWorseThanNoneOnUniformRandom) {
    if (!builtin_policy_registry().contains("predictive"))
        GTEST_SKIP() << "predictive policy not built yet";
    const auto r = run(WorkloadKind::kUniform);
    const ReplayResult& pred = r.at("predictive");
    EXPECT_LE(pred.mean_latency_us, r.at("none").mean_latency_us);
    // It does not migrate for nothing: it may fill the fast tiers' free room once (any extent
    // is as good as any other there), but it must not swap extents whose futures are the same.
    WorkloadParams p;
    p.duration_s = 3600;
    p.iops = 200;
    p.seed = 11;
    const ReplayConfig config =
        standard_replay_config(generate_workload(WorkloadKind::kUniform, p));
    const auto& home = config.tiers.at(config.default_home).spec;
    std::uint64_t fast_room = 0;  // extents the tiers faster than home hold
    for (const auto& t : config.tiers)
        if (t.spec.read_latency_us < home.read_latency_us)
            fast_room += t.spec.capacity_bytes / config.extent_bytes;
    ASSERT_GT(fast_room, 0u);
    EXPECT_LE(pred.migrations, fast_room + fast_room / 4)
        << "reactive made " << r.at("reactive").migrations;
    EXPECT_LE(pred.wasted_promotions, fast_room / 20);
}

}  // namespace
}  // namespace rbdtier
