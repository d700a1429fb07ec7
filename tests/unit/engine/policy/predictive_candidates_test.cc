// The candidates of policy "predictive": the forecast candidate's live and ghost instance share
// one AccessForecast, and another selector's candidates another one.
#include "engine/policy/predictive_candidates.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/policy/policy_registry.h"
#include "engine/predictive_policy.h"

namespace rbdtier {
namespace {

StorageModel two_tiers() {
    StorageModel c;
    TierModel fast, slow;
    fast.spec = {0, "nvme-a", "nvme", "site-a", 200, 200, 64ull << 20, 10};
    slow.spec = {1, "hdd-a", "hdd", "site-a", 8000, 8000, 0, 1};
    c.tiers = {fast, slow};
    c.default_home = 1;
    return c;
}

std::shared_ptr<AccessForecast> forecast_of(const std::unique_ptr<PlacementPolicy>& policy) {
    const auto* predictive = dynamic_cast<const PredictivePolicy*>(policy.get());
    if (predictive == nullptr) return nullptr;
    return predictive->engine().shared_forecast();
}

StrategySelector::Factory forecast_factory(const StorageModel& config) {
    const auto candidates = selector_candidates(config);
    const auto it = std::find_if(candidates.begin(), candidates.end(),
                                 [](const auto& c) { return c.name == "forecast"; });
    return it == candidates.end() ? nullptr : it->make;
}

TEST(PredictiveCandidates, TheForecastsLiveAndGhostInstanceShareOneForecast) {
    const StorageModel config = two_tiers();
    const auto make = forecast_factory(config);
    ASSERT_TRUE(make);
    const auto live = make();
    const auto ghost = make();
    ASSERT_NE(forecast_of(live), nullptr);
    EXPECT_EQ(forecast_of(live), forecast_of(ghost));
    const auto other_selector = forecast_factory(config)();
    EXPECT_NE(forecast_of(other_selector), forecast_of(live));
}

TEST(PredictiveCandidates, TheForecastPolicyAloneHasAForecastOfItsOwn) {
    const auto registry = builtin_policy_registry();
    const StorageModel config = two_tiers();
    const auto a = registry.create("forecast", {config, {}});
    const auto b = registry.create("forecast", {config, {}});
    ASSERT_NE(forecast_of(a), nullptr);
    EXPECT_NE(forecast_of(a), forecast_of(b));
}

}  // namespace
}  // namespace rbdtier
