#include "ceph/lun_tiering.h"

#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/policy/policy_registry.h"
#include "live_tiers.h"
#include "tiered_lun_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;

// A policy that proposes the same orders every round (what a confused or stale policy may do)
// and keeps what the executor told it: the extents of the orders it dropped and migrated.
class ScriptedPolicy final : public PlacementPolicy {
public:
    explicit ScriptedPolicy(std::vector<MigrationOrder> orders,
                            std::vector<ExtentIndex>* dropped = nullptr,
                            std::vector<ExtentIndex>* migrated = nullptr)
        : orders_(std::move(orders)), dropped_(dropped), migrated_(migrated) {}
    std::string_view name() const override { return "scripted"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView&) override {
        return orders_;
    }
    void dropped(const MigrationOrder& order, std::uint64_t) override {
        if (dropped_ != nullptr) dropped_->push_back(order.extent);
    }
    void migrated(const MigrationOrder& order, std::uint64_t) override {
        if (migrated_ != nullptr) migrated_->push_back(order.extent);
    }

private:
    std::vector<MigrationOrder> orders_;
    std::vector<ExtentIndex>* dropped_;
    std::vector<ExtentIndex>* migrated_;
};

MigrationOrder move(ExtentIndex extent, TierId from, TierId to) {
    MigrationOrder o;
    o.extent = extent;
    o.from = from;
    o.to = to;
    return o;
}

// Reactive placement on the live cluster: the extents read get promoted to nvme-a, but never
// more of them than nvme-a's capacity for this LUN, counted on the cluster itself.
TEST(LunTiering, PromotesReadExtentsWithinTheTierCapacity) {
    const std::uint64_t size = 8 * kExtent;
    auto lun = TieredLun::create("hdd-a", unique_name("lt"), size);
    lun->write(0, std::vector<char>(size, 'q'));
    const ReplayConfig config = live_tier_config(/*nvme_a_extents=*/2);
    std::vector<TierSpec> specs = tier_specs(config);
    ceph::LunTieringOptions options;
    options.round_us = config.round_us;
    ceph::LunTiering tiering(lun->images(), lun->gate(), lun->migrator(), specs,
                             builtin_policy_registry().create("reactive", {config, {}}), options);

    auto rounds = [&](std::uint64_t hot_extents, int count) {
        for (int round = 0; round < count; ++round) {
            for (std::uint64_t e = 0; e < hot_extents; ++e) {
                record_reads(tiering, e);
                (void)lun->read(e * kExtent, 4096);
            }
            tiering.run_round();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // time between rounds
        }
    };
    // A hot set that fits: both extents end up in nvme-a.
    rounds(2, 10);
    EXPECT_EQ(lun->images().pool(lun->gate().tier(0)), "nvme-a");
    EXPECT_EQ(lun->images().pool(lun->gate().tier(1)), "nvme-a");
    EXPECT_EQ(allocated_extents(lun->images().image(1), size), 2u);
    // One that does not: nvme-a never holds more than its capacity, counted on the cluster.
    rounds(5, 10);
    const auto stats = tiering.stats();
    EXPECT_GT(stats.moved, 2u);
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_LE(stats.extents_in_tier[1], 2u);
    EXPECT_LE(allocated_extents(lun->images().image(1), size), 2u)
        << "nvme-a holds more of this LUN than its capacity";
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'q'));
    ASSERT_FALSE(tiering.history().empty());
    EXPECT_EQ(tiering.history().front().outcome, "moved");
}

// An order to the tier the extent is already in, or to a tier the LUN does not have, is refused
// before the migrator is asked: it spends no budget, is no failed migration and leaves no
// history; the valid order of the same round still moves.
TEST(LunTiering, RefusesOrdersToTheTierTheExtentIsIn) {
    const std::uint64_t size = 4 * kExtent;
    auto lun = TieredLun::create("hdd-a", unique_name("lt"), size);
    lun->write(0, std::vector<char>(size, 'z'));
    const ReplayConfig config = live_tier_config();
    const std::vector<TierSpec> specs = tier_specs(config);
    std::vector<MigrationOrder> orders(3);
    orders[0].extent = 0;  // already in home (tier 0)
    orders[0].from = 0;
    orders[0].to = 0;
    orders[1].extent = 1;  // no such tier
    orders[1].from = 0;
    orders[1].to = static_cast<TierId>(specs.size());
    orders[2].extent = 2;  // a real move
    orders[2].from = 0;
    orders[2].to = 1;
    ceph::LunTieringOptions options;
    options.round_us = config.round_us;
    ceph::LunTiering tiering(lun->images(), lun->gate(), lun->migrator(), specs,
                             std::make_unique<ScriptedPolicy>(orders), options);
    tiering.run_round();
    const auto stats = tiering.stats();
    EXPECT_EQ(stats.failed, 0u) << "a same-tier order reached the migrator";
    EXPECT_EQ(stats.moved, 1u);
    const auto history = tiering.history();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history.front().extent, 2u);
    EXPECT_EQ(history.front().outcome, "moved");
    EXPECT_EQ(lun->images().pool(lun->gate().tier(2)), "nvme-a");
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'z'));
}

// Every order of the policy's that the round does not carry out is told dropped, as the replay
// simulator tells it (a predictive policy's scheduler gets its budget and slot back): refused
// as invalid, for a pin or for the tier's capacity. Pin orders are not the policy's.
TEST(LunTiering, TellsThePolicyWhichOfItsOrdersWereNotCarriedOut) {
    const std::uint64_t size = 4 * kExtent;
    auto lun = TieredLun::create("hdd-a", unique_name("lt"), size);
    lun->write(0, std::vector<char>(size, 'd'));
    // Tier images open on first need; opened first here, so that the round's 100 ms go to
    // the moves this test counts, not to opening images.
    lun->open_every_tier();
    const ReplayConfig config = live_tier_config(/*nvme_a_extents=*/1);
    const std::vector<TierSpec> specs = tier_specs(config);
    std::vector<ExtentIndex> dropped, migrated;
    const std::vector<MigrationOrder> orders = {move(0, 0, 0), move(1, 0, 1), move(2, 0, 1),
                                                move(3, 0, 1)};
    ceph::LunTieringOptions options;
    options.round_us = config.round_us;
    ceph::LunTiering tiering(lun->images(), lun->gate(), lun->migrator(), specs,
                             std::make_unique<ScriptedPolicy>(orders, &dropped, &migrated),
                             options);
    ASSERT_TRUE(tiering.pin(1, 1, 2));
    tiering.run_round();
    std::sort(dropped.begin(), dropped.end());
    EXPECT_EQ(dropped, (std::vector<ExtentIndex>{0, 1, 3}));
    EXPECT_EQ(lun->images().pool(lun->gate().tier(1)), "nvme-b");
    EXPECT_EQ(lun->images().pool(lun->gate().tier(2)), "nvme-a");
    EXPECT_EQ(tiering.stats().refused_capacity, 1u);
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'd'));
}

}  // namespace
}  // namespace rbdtier::test
