// The product's acceptance criteria for the predictive policy (skipped until the engine's
// PredictivePolicy is registered): on every structured workload its mean latency is within 2% of
// the better of reactive and frequency and closes at least 80% of the none -> oracle gap; on
// uniform random it is no worse than none, fills and re-places the fast tiers' room at most once
// each, and once settled migrates next to nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "engine/placement_policy.h"
#include "engine/replay/replay_policies.h"
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
    const StorageModel config = standard_replay_config(events);
    const auto registry = replay_policy_registry();
    std::map<std::string, ReplayResult> out;
    for (const char* name : {"none", "reactive", "frequency", "oracle", "predictive"}) {
        auto policy = registry.create(name, {config, events});
        out[name] = replay(config, events, *policy);
    }
    return out;
}

class Structured : public ::testing::TestWithParam<WorkloadKind> {};

// The product's bar on a structured workload: never worse than the best of reactive and
// frequency by more than 2% (on the shifting hot set the two are within a fraction of a percent
// of each other), and at least 80% of the none -> oracle gap closed.
TEST_P(Structured, PredictiveMatchesTheBestBaselineAndClosesTheGap) {
    if (!replay_policy_registry().contains("predictive"))
        GTEST_SKIP() << "predictive policy not built yet";
    const auto r = run(GetParam());
    const double none = r.at("none").mean_latency_us, oracle = r.at("oracle").mean_latency_us;
    const double pred = r.at("predictive").mean_latency_us;
    const double reactive = r.at("reactive").mean_latency_us;
    const double frequency = r.at("frequency").mean_latency_us;
    std::printf("none %.2f reactive %.2f frequency %.2f predictive %.2f oracle %.2f us\n", none,
                reactive, frequency, pred, oracle);
    EXPECT_LE(pred, 1.02 * std::min(reactive, frequency))
        << "predictive " << pred << " us, reactive " << reactive << " us, frequency " << frequency
        << " us";
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

// Forwards to `inner` and counts the migrations completed at or after `from_us`.
class LateMigrationCounter final : public PlacementPolicy {
public:
    LateMigrationCounter(PlacementPolicy& inner, std::uint64_t from_us)
        : inner_(inner), from_us_(from_us) {}
    std::string_view name() const override { return inner_.name(); }
    void observe(const IoEvent& io) override { inner_.observe(io); }
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override {
        return inner_.plan(now_us, view);
    }
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override {
        if (now_us >= from_us_) ++late_;
        inner_.migrated(order, now_us);
    }
    void dropped(const MigrationOrder& order, std::uint64_t now_us) override {
        inner_.dropped(order, now_us);
    }
    std::optional<SelectionReport> selection() const override { return inner_.selection(); }
    std::uint64_t late() const { return late_; }

private:
    PlacementPolicy& inner_;
    std::uint64_t from_us_;
    std::uint64_t late_ = 0;
};

TEST(Unstructured, PredictiveNoWorseThanNoneOnUniformRandom) {
    const auto registry = replay_policy_registry();
    if (!registry.contains("predictive")) GTEST_SKIP() << "predictive policy not built yet";
    WorkloadParams p;
    p.duration_s = 3600;
    p.iops = 200;
    p.seed = 11;
    const auto events = generate_workload(WorkloadKind::kUniform, p);
    const StorageModel config = standard_replay_config(events);
    auto none_policy = registry.create("none", {config, events});
    const ReplayResult none = replay(config, events, *none_policy);
    auto predictive = registry.create("predictive", {config, events});
    const std::uint64_t half_us =
        events.front().time_us + (events.back().time_us - events.front().time_us) / 2;
    LateMigrationCounter counted(*predictive, half_us);
    const ReplayResult pred = replay(config, events, counted);
    EXPECT_LE(pred.mean_latency_us, none.mean_latency_us);
    const auto& home = config.tiers.at(config.default_home).spec;
    std::uint64_t fast_room = 0;  // extents the tiers faster than home hold
    for (const auto& t : config.tiers)
        if (t.spec.read_latency_us < home.read_latency_us)
            fast_room += t.spec.capacity_bytes / config.extent_bytes;
    ASSERT_GT(fast_room, 0u);
    std::cout << "predictive: " << pred.mean_latency_us << " us (none " << none.mean_latency_us
              << "), " << pred.migrations << " migrations (" << pred.promotions << " promotions, "
              << pred.demotions << " demotions, " << pred.wasted_promotions << " wasted), "
              << counted.late() << " in the second half; fast room " << fast_room << " extents\n";
    // It does not migrate for nothing. The candidate a LUN starts on may fill the fast tiers'
    // free room (any extent is as good as any other there) while the selector judges its
    // candidates; the candidate it then settles on may re-place that room once (move out what
    // it does not want, move in what it does); but nothing may keep swapping extents whose
    // futures are the same. So: at most two fills of the fast room (and a half) over the hour,
    // at most two fifths of a fill promoted and never used, and next to nothing once settled
    // (the second half of the hour). The first candidate fills every fast tier's free room, not
    // only the fastest one's (the settled one then re-places some of it between the fast tiers:
    // 1892 migrations, 285 unused promotions at seed 11; 1793 and 231 when the first candidate
    // filled only the fastest tier). Without probation the first candidate trades extents
    // through its first minute and the selector migrates about twice as much (3379 migrations,
    // 694 unused promotions at seed 11).
    EXPECT_LE(pred.migrations, 2 * fast_room + fast_room / 2);
    EXPECT_LE(pred.wasted_promotions, 2 * fast_room / 5);
    EXPECT_LE(counted.late(), fast_room / 20);
}

}  // namespace
}  // namespace rbdtier
