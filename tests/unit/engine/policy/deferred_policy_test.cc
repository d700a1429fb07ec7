// DeferredPolicy as policy "predictive" holds it: once the LUN has I/O, the selector it makes runs
// as the selector made at once does, to the same latencies, migrations and choices (what an idle
// LUN's holds: strategy_selector_test.cc, TheRegisteredPredictivePolicyOfAnIdleLun...).
#include "engine/policy/deferred_policy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <random>
#include <vector>

#include "engine/policy/predictive_candidates.h"
#include "engine/replay/replay_simulator.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::scattered_read_at;

// A hot set of 6 extents that moves every 40 s, one read every `step_us` from `start_us` on for
// `length_us`.
std::vector<IoEvent> moving_hot_set(std::uint64_t start_us, std::uint64_t step_us = 20'000,
                                    std::uint64_t length_us = 240'000'000) {
    std::mt19937 rng(5);
    std::vector<IoEvent> out;
    for (std::uint64_t t = 0; t < length_us; t += step_us)
        out.push_back(scattered_read_at(start_us + t, (t / 40'000'000) * 100 + rng() % 6));
    return out;
}

StorageModel model_for(const std::vector<IoEvent>& events) {
    StorageModel c = standard_replay_config(events, 0.1);
    c.bandwidth_bytes_per_s = 50.0 * (1 << 20);
    return c;
}

// Replays `events` under policy "predictive" made at its first I/O and made at once.
void expect_same_run(const std::vector<IoEvent>& events) {
    const StorageModel c = model_for(events);
    auto deferred = make_predictive(c);
    ASSERT_NE(dynamic_cast<DeferredPolicy*>(deferred.get()), nullptr);
    auto at_once = make_predictive_selector(c);
    const ReplayResult late = replay(c, events, *deferred);
    const ReplayResult early = replay(c, events, *at_once);
    ASSERT_NE(dynamic_cast<DeferredPolicy*>(deferred.get())->made(), nullptr);
    std::cout << "predictive made at the first I/O: " << late.mean_latency_us << " us, "
              << late.migrations << " migrations; made at once: " << early.mean_latency_us
              << " us, " << early.migrations << " migrations\n";
    EXPECT_GT(early.migrations, 0u) << "the workload must make the selector move extents";
    EXPECT_DOUBLE_EQ(late.mean_latency_us, early.mean_latency_us);
    EXPECT_EQ(late.migrations, early.migrations);
    const auto a = deferred->selection();
    const auto b = at_once->selection();
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->luns.size(), b->luns.size());
    for (std::size_t i = 0; i < a->luns.size(); ++i) {
        EXPECT_EQ(a->luns[i].rounds, b->luns[i].rounds);
        EXPECT_EQ(a->luns[i].switches.size(), b->luns[i].switches.size());
    }
}

TEST(DeferredPolicy, ThePredictiveSelectorMadeAtTheFirstIoRunsAsOneMadeAtOnce) {
    // The first I/O comes after rounds without any.
    expect_same_run(moving_hot_set(30'000'000));
}

TEST(DeferredPolicy, SoItDoesWhenTheFirstRoundWithIoHasThousandsOfThem) {
    expect_same_run(moving_hot_set(0, 500, 60'000'000));
}

TEST(DeferredPolicy, IoObservedWithoutRoundsMakesThePolicyOnceItWouldKeepTooMuch) {
    // A caller that observes and does not plan (a LUN paused, or owned by another gateway).
    int made = 0;
    DeferredPolicy policy("predictive", [&made] {
        ++made;
        return make_predictive_selector(model_for(moving_hot_set(0)));
    });
    for (std::size_t i = 0; i + 1 < DeferredPolicy::kMaxPendingIo; ++i)
        policy.observe(scattered_read_at(i * 1000, i % 6));
    EXPECT_EQ(policy.made(), nullptr);
    policy.observe(scattered_read_at(DeferredPolicy::kMaxPendingIo * 1000, 1));
    ASSERT_NE(policy.made(), nullptr);
    EXPECT_EQ(made, 1);
    const auto* selector = dynamic_cast<const StrategySelector*>(policy.made());
    ASSERT_NE(selector, nullptr);
    EXPECT_TRUE(selector->built()) << "the I/O kept was handed to it";
}

}  // namespace
}  // namespace rbdtier
