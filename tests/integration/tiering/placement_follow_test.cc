// LunTiering follows the placement map when it changes by another hand than its own migrations:
// another gateway moved extents and this one took the LUN over (the map is reloaded and every
// extent rerouted), or the LUN grew. Its counts of extents per tier, the admission's ledger (the
// tier capacity it enforces) and the policy's view must then be those of the map: a tier never
// holds more than its capacity, and room another gateway freed is used.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ceph/lun_tiering.h"
#include "engine/placement_policy.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;

// Proposes the same orders every round and keeps what its view said of each tier's use.
class FixedOrders final : public PlacementPolicy {
public:
    explicit FixedOrders(std::vector<MigrationOrder> orders) : orders_(std::move(orders)) {}
    std::string_view name() const override { return "fixed"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView& view) override {
        seen_used_.clear();
        for (std::size_t t = 0; t < view.tiers().size(); ++t)
            seen_used_.push_back(view.used_bytes(static_cast<TierId>(t)));
        return orders_;
    }
    std::vector<std::uint64_t> seen_used_;  // per tier, at the last plan()

private:
    std::vector<MigrationOrder> orders_;
};

std::vector<MigrationOrder> promotions(ExtentIndex first, ExtentIndex end, TierId to) {
    std::vector<MigrationOrder> out;
    for (ExtentIndex e = first; e < end; ++e) {
        MigrationOrder o;
        o.extent = e;
        o.from = 0;
        o.to = to;
        o.reason = "test";
        out.push_back(o);
    }
    return out;
}

// Extents the map (read again from RADOS) puts in `pool`.
std::uint64_t mapped_to(TieredStorage& lun, const std::string& pool) {
    EXPECT_TRUE(lun.map().reload().is_ok());
    std::uint64_t n = 0;
    for (const auto& [extent, entry] : lun.map().entries())
        if (entry.pool == pool) ++n;
    return n;
}

// A standby gateway's tiering, which takes the LUN's ownership (as the handler does, inside the
// round) once `standby` turns false.
struct Standby {
    std::unique_ptr<TieredStorage> owner, standby_lun;
    std::vector<char> data;
    bool standby = true;
    FixedOrders* policy = nullptr;
    std::unique_ptr<ceph::LunTiering> tiering;
};

void move_extent(TieredStorage& lun, ExtentIndex extent, const std::string& pool) {
    MigrationRecord record;
    ASSERT_TRUE(lun.migrator().migrate(extent, *lun.images().index_of(pool), record).is_ok())
        << record.outcome;
}

// A LUN of `extents` extents written by its owner, which first moves `owner_moves` (extent,
// pool); then a standby gateway opens it and starts its tiering (nvme-a's capacity
// `nvme_a_extents` extents, the policy proposing `orders`).
std::unique_ptr<Standby> standby_gateway(
    const std::string& stem, std::uint64_t extents, std::uint64_t nvme_a_extents,
    std::vector<MigrationOrder> orders,
    const std::vector<std::pair<ExtentIndex, std::string>>& owner_moves = {}) {
    auto g = std::make_unique<Standby>();
    const std::string name = unique_name(stem);
    g->owner = TieredStorage::create("hdd-a", name, extents * kExtent);
    g->data = pattern(extents * kExtent, static_cast<std::uint32_t>(extents));
    g->owner->write(0, g->data);
    for (const auto& [extent, pool] : owner_moves) move_extent(*g->owner, extent, pool);
    g->standby_lun = TieredStorage::open("hdd-a", name, extents * kExtent, /*own=*/false);
    g->standby_lun->remove_all_on_exit(false);
    const StorageModel config = live_tier_config(nvme_a_extents);
    auto policy = std::make_unique<FixedOrders>(std::move(orders));
    g->policy = policy.get();
    LunRoundsOptions options;
    options.round_us = config.round_us;
    Standby* self = g.get();
    options.may_plan = [self] {
        if (self->standby) return false;
        auto& migrator = self->standby_lun->migrator();
        return migrator.owner() || migrator.take_ownership().is_ok();
    };
    g->tiering = std::make_unique<ceph::LunTiering>(
        g->standby_lun->images(), g->standby_lun->gate(), g->standby_lun->migrator(),
        tier_specs(config), std::move(policy), options);
    return g;
}

// The old owner filled nvme-a (capacity 2 extents) before the standby took the LUN over: the new
// owner counts those extents and moves none of its own there (an owner that counted nvme-a
// empty, as it was when its tiering started, would move two more in: twice the capacity).
TEST(LunTieringFollowsTheMap, TakeoverCountsWhatTheOldOwnerMoved) {
    auto g = standby_gateway("follow-full", 8, 2, promotions(2, 6, 1));
    g->tiering->run_round();
    ASSERT_EQ(g->tiering->stats().rounds_not_owner, 1u);
    ASSERT_EQ(g->tiering->stats().extents_in_tier[1], 0u);

    move_extent(*g->owner, 0, "nvme-a");
    move_extent(*g->owner, 1, "nvme-a");
    g->standby = false;
    g->tiering->run_round();

    const auto stats = g->tiering->stats();
    EXPECT_EQ(stats.extents_in_tier[0], 6u);
    EXPECT_EQ(stats.extents_in_tier[1], 2u);
    EXPECT_EQ(stats.moved, 0u);
    EXPECT_EQ(stats.refused_capacity, 4u);
    ASSERT_GE(g->policy->seen_used_.size(), 2u);
    EXPECT_EQ(g->policy->seen_used_[1], 2 * kExtent) << "the policy's view of nvme-a";
    EXPECT_EQ(mapped_to(*g->standby_lun, "nvme-a"), 2u)
        << "nvme-a holds more extents than its capacity";
    EXPECT_EQ(g->standby_lun->read(0, 8 * kExtent), g->data);
}

// The old owner emptied nvme-a before the takeover: the new owner uses the room (an owner that
// still counted nvme-a full would refuse every promotion there, and a later demotion would find
// the admission counting nothing in the tier it left).
TEST(LunTieringFollowsTheMap, TakeoverUsesRoomTheOldOwnerFreed) {
    auto g =
        standby_gateway("follow-free", 8, 2, promotions(2, 4, 1), {{0, "nvme-a"}, {1, "nvme-a"}});
    ASSERT_EQ(g->tiering->stats().extents_in_tier[1], 2u);

    move_extent(*g->owner, 0, "hdd-a");
    move_extent(*g->owner, 1, "hdd-a");
    g->standby = false;
    // Its round of 100 ms goes to the moves, not to opening the tier image (on first need).
    g->standby_lun->open_every_tier();
    g->tiering->run_round();

    const auto stats = g->tiering->stats();
    EXPECT_EQ(stats.refused_capacity, 0u);
    EXPECT_EQ(stats.moved, 2u);
    EXPECT_EQ(stats.extents_in_tier[0], 6u);
    EXPECT_EQ(stats.extents_in_tier[1], 2u);
    EXPECT_EQ(mapped_to(*g->standby_lun, "nvme-a"), 2u);
    EXPECT_EQ(g->standby_lun->read(0, 8 * kExtent), g->data);
}

// Extents added by a resize are counted (at home) and can be pinned and moved like the others:
// a pin on a new extent is not refused as outside the LUN.
TEST(LunTieringFollowsTheMap, ResizeAddsExtentsToTheCountsAndPins) {
    auto lun = TieredStorage::create("hdd-a", unique_name("follow-grow"), 4 * kExtent);
    const StorageModel config = live_tier_config(2);
    LunRoundsOptions options;
    options.round_us = config.round_us;
    ceph::LunTiering tiering(lun->images(), lun->gate(), lun->migrator(), tier_specs(config),
                             std::make_unique<FixedOrders>(std::vector<MigrationOrder>{}), options);
    tiering.run_round();
    ASSERT_EQ(tiering.stats().extents_in_tier[0], 4u);

    // What the handler's resize does below the LUN: the images, the gate, the migrator.
    ASSERT_TRUE(lun->images().resize(6 * kExtent).is_ok());
    lun->gate().grow(6);
    lun->migrator().set_lun_size(6 * kExtent);
    const auto data = pattern(6 * kExtent, 9);
    lun->write(0, data);
    tiering.run_round();
    EXPECT_EQ(tiering.stats().extents_in_tier[0], 6u);

    ASSERT_TRUE(tiering.pin(5, 1, 1).is_ok()) << "a pin on an extent the resize added";
    tiering.run_round();
    const auto stats = tiering.stats();
    EXPECT_EQ(stats.moved, 1u);
    EXPECT_EQ(stats.extents_in_tier[0], 5u);
    EXPECT_EQ(stats.extents_in_tier[1], 1u);
    EXPECT_EQ(lun->images().pool(lun->gate().tier(5)), "nvme-a");
    EXPECT_EQ(lun->read(0, 6 * kExtent), data);
}

}  // namespace
}  // namespace rbdtier::test
