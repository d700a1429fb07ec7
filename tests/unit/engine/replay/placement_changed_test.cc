// Every policy told of a placement it did not order (PlacementPolicy::placement_changed: another
// gateway filled the fast tier, then this one took the LUN over) works from it: the extents put
// there by the other hand, never accessed since, make room for the LUN's hot extents.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/replay/replay_policies.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::kE;

constexpr TierId kFast = 0;
constexpr TierId kHome = 1;
constexpr std::uint64_t kExtents = 8;

// One LUN of kExtents extents; executes orders at once within the fast tier's capacity.
class InstantExecutor final : public PlacementView {
public:
    explicit InstantExecutor(std::vector<TierSpec> tiers) : tiers_(std::move(tiers)) {}
    TierId tier_of(LunId, ExtentIndex extent) const override {
        auto it = away_.find(extent);
        return it == away_.end() ? kHome : it->second;
    }
    TierId home_tier(LunId) const override { return kHome; }
    std::uint64_t used_bytes(TierId tier) const override {
        std::uint64_t n = 0;
        for (const auto& [extent, t] : away_) n += t == tier ? 1 : 0;
        return n * kE;
    }
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return kE; }
    std::uint64_t extents(LunId) const override { return kExtents; }

    void place(ExtentIndex extent, TierId tier) {
        if (tier == kHome)
            away_.erase(extent);
        else
            away_[extent] = tier;
    }
    void run(PlacementPolicy& policy, std::uint64_t now_us) {
        for (const MigrationOrder& o : policy.plan(now_us, *this)) {
            const bool fits = o.to == kHome || tiers_[o.to].capacity_bytes == 0 ||
                              used_bytes(o.to) + kE <= tiers_[o.to].capacity_bytes;
            if (o.extent >= kExtents || tier_of(0, o.extent) != o.from || o.from == o.to || !fits) {
                policy.dropped(o, now_us);
                continue;
            }
            place(o.extent, o.to);
            policy.migrated(o, now_us);
        }
    }

private:
    std::vector<TierSpec> tiers_;
    std::map<ExtentIndex, TierId> away_;
};

class EveryPolicy : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPolicy, ExtentsPlacedByAnotherHandMakeRoomForHotOnes) {
    ReplayConfig config;
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
    InstantExecutor executor(specs);
    executor.place(6, kFast);
    executor.place(7, kFast);
    policy->placement_changed(0, 0, executor);
    std::size_t next = 0;
    for (std::uint64_t s = 0; s < kSeconds; ++s) {
        for (; next < events.size() && events[next].time_us < (s + 1) * 1'000'000; ++next)
            policy->observe(events[next]);
        executor.run(*policy, (s + 1) * 1'000'000);
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
