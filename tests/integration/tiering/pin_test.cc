// Pins on the live cluster: pinned extents go to their tier before anything else, stay there
// whatever the policy wants, wait for the bandwidth budget in the queue, and a new pin replaces
// the overlapping part of an older one. The home pin brings every extent home against the
// policy, keeps them there, and refuses pins elsewhere until it is released.
#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include "ceph/lun_tiering.h"
#include "common/log.h"
#include "engine/policy/policy_registry.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;

// A pin refused by the rounds is a Status with its errno (the rules: lun_rounds_test.cc).
TEST(LunTieringPins, RefusesBadRangesWithAStatus) {
    auto lun = TieredStorage::create("hdd-a", unique_name("pin"), 8 * kExtent);
    const StorageModel config = live_tier_config();
    ceph::LunTiering tiering(lun->images(), lun->gate(), lun->migrator(), tier_specs(config),
                             builtin_policy_registry().create("none", {config, {}}), {});
    EXPECT_EQ(tiering.pin(0, 1, 4).code(), -EINVAL);  // tier out of range
    EXPECT_EQ(tiering.pin(7, 2, 1).code(), -EINVAL);  // past the end
    EXPECT_TRUE(tiering.pins().empty());
    ASSERT_TRUE(tiering.pin(1, 4, 2));
    EXPECT_EQ(tiering.pins(), (std::vector<PinnedRange>{{1, 4, 2}}));
}

// A tiered LUN of `extents` extents, written through with `fill`, and a LunTiering running the
// built-in `policy` on it with a migration budget of `bandwidth` bytes/s.
struct TieredWithBudget {
    TieredWithBudget(std::uint64_t extents, char fill, const std::string& policy, double bandwidth)
        : size(extents * kExtent), lun(TieredStorage::create("hdd-a", unique_name("pin"), size)) {
        lun->write(0, std::vector<char>(size, fill));
        LunRoundsOptions options;
        options.round_us = config.round_us;
        options.bandwidth_bytes_per_s = bandwidth;
        tiering = std::make_unique<ceph::LunTiering>(
            lun->images(), lun->gate(), lun->migrator(), tier_specs(config),
            builtin_policy_registry().create(policy, {config, {}}), options);
    }

    const std::uint64_t size;
    std::unique_ptr<TieredStorage> lun;
    const StorageModel config = live_tier_config();
    std::unique_ptr<ceph::LunTiering> tiering;
};

// Pinned extents move first and stay put while the reactive policy wants them elsewhere.
TEST(LunTieringPins, PinnedExtentsMoveToTheirTierAndStay) {
    TieredWithBudget t(8, 'p', "reactive", 64.0 * kExtent);
    const std::uint64_t size = t.size;
    auto& lun = t.lun;
    ceph::LunTiering& tiering = *t.tiering;
    ASSERT_TRUE(tiering.pin(2, 2, 2));  // extents 2, 3 -> nvme-b
    for (int round = 0; round < 6; ++round) {
        // All hot: reactive wants them on nvme-a.
        for (std::uint64_t e : {2u, 3u, 5u}) record_reads(tiering, e);
        tiering.run_round();
    }
    EXPECT_EQ(lun->gate().tier(2), 2);
    EXPECT_EQ(lun->gate().tier(3), 2);
    EXPECT_EQ(lun->gate().tier(5), 1) << "the unpinned hot extent is the policy's";
    EXPECT_EQ(allocated_extents(lun->tier_image(2), size), 2u);  // on the cluster
    for (const auto& o : tiering.queue()) EXPECT_TRUE(o.extent != 2 && o.extent != 3);
    bool pinned_reason = false;
    for (const auto& r : tiering.history()) pinned_reason |= r.reason == "pinned to nvme-b";
    EXPECT_TRUE(pinned_reason);

    // Unpinned, they are the policy's again: reactive promotes them to nvme-a.
    tiering.unpin(2, 2);
    for (int round = 0; round < 6; ++round) {
        for (std::uint64_t e : {2u, 3u}) record_reads(tiering, e);
        tiering.run_round();
    }
    EXPECT_EQ(lun->gate().tier(2), 1);
    EXPECT_EQ(lun->gate().tier(3), 1);
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'p'));

    bool inspected = false;
    tiering.inspect([&](const PlacementPolicy& policy, const PlacementView& view) {
        inspected = true;
        EXPECT_EQ(policy.name(), "reactive");
        EXPECT_EQ(view.tiers().size(), 4u);
        EXPECT_EQ(view.tier_of(0, 2), 1);
        EXPECT_EQ(view.used_bytes(1), 3 * kExtent);
    });
    EXPECT_TRUE(inspected);
}

// A budget of one extent a round: the rest of a pinned range waits in the queue.
TEST(LunTieringPins, QueueShowsWhatWaitsForBandwidth) {
    TieredWithBudget t(6, 'w', "none", kExtent);  // one extent a second
    const std::uint64_t size = t.size;
    auto& lun = t.lun;
    ceph::LunTiering& tiering = *t.tiering;
    ASSERT_TRUE(tiering.pin(0, 4, 1));
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    tiering.run_round();
    // The admin reads, at debug, the move and what waits for the budget.
    const std::string& name = lun->images().lun_name();
    EXPECT_EQ(capture.find(log::Level::kDebug, name, "moved extent 0 from hdd-a to nvme-a").size(),
              1u);
    EXPECT_EQ(capture.find(log::Level::kDebug, name, "(pinned to nvme-a)").size(), 1u);
    EXPECT_FALSE(
        capture.find(log::Level::kDebug, name, "to nvme-a waits: the migration budget").empty());
    EXPECT_EQ(tiering.stats().moved, 1u);
    const auto queue = tiering.queue();
    ASSERT_FALSE(queue.empty());
    EXPECT_EQ(queue.front().to, 1);
    EXPECT_EQ(queue.front().reason, "pinned to nvme-a");
    EXPECT_GE(tiering.stats().deferred_bandwidth, 1u);
    EXPECT_EQ(allocated_extents(lun->tier_image(1), size), 1u);
}

// Home pin: the extents away come home first, the policy moves none out while it holds.
TEST(LunTieringPins, HomePinBringsEveryExtentHomeAndKeepsItThere) {
    TieredWithBudget t(6, 'h', "reactive", 64.0 * kExtent);
    const std::uint64_t size = t.size;
    auto& lun = t.lun;
    ceph::LunTiering& tiering = *t.tiering;
    ASSERT_TRUE(tiering.pin(0, 2, 2));  // extents 0, 1 -> nvme-b
    for (int round = 0; round < 6; ++round) {
        for (std::uint64_t e : {0u, 1u, 4u}) record_reads(tiering, e);  // 4: reactive's
        tiering.run_round();
    }
    ASSERT_EQ(lun->gate().tier(0), 2);
    ASSERT_EQ(lun->gate().tier(4), 1);

    tiering.set_home_pinned(true);
    EXPECT_TRUE(tiering.home_pinned());
    const std::vector<PinnedRange> whole = {{0, 6, 0}};
    EXPECT_EQ(tiering.pins(), whole) << "the home pin replaces the others";
    EXPECT_EQ(tiering.pin(2, 1, 1).code(), -EBUSY) << "no pin elsewhere while pinned home";
    EXPECT_TRUE(tiering.pin(2, 1, 0)) << "home: pinned there already";
    for (int round = 0; round < 6; ++round) {
        for (std::uint64_t e : {0u, 1u, 4u, 5u}) record_reads(tiering, e);  // reactive wants them
        tiering.run_round();
    }
    for (std::uint64_t e = 0; e < 6; ++e) EXPECT_EQ(lun->gate().tier(e), 0) << "extent " << e;
    for (std::size_t i = 1; i < lun->images().count(); ++i)
        EXPECT_EQ(allocated_extents(lun->tier_image(i), size), 0u) << "tier " << i;
    for (const auto& o : tiering.queue()) EXPECT_EQ(o.to, 0) << "extent " << o.extent;
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'h'));

    // A release read before the pin was set (a stale read of RADOS) changes nothing.
    const std::uint64_t version = tiering.home_pin_version();
    tiering.set_home_pinned(false, version - 1);
    EXPECT_TRUE(tiering.home_pinned()) << "a stale release undid the pin";

    // Released: the LUN is the policy's again, without the pins it had before.
    tiering.set_home_pinned(false, version);
    EXPECT_EQ(tiering.home_pin_version(), version + 1);
    EXPECT_TRUE(tiering.pins().empty());
    for (int round = 0; round < 6; ++round) {
        record_reads(tiering, 4);
        tiering.run_round();
    }
    EXPECT_EQ(lun->gate().tier(4), 1) << "reactive promotes again";
}

}  // namespace
}  // namespace rbdtier::test
