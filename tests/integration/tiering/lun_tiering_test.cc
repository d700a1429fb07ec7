// LunTiering on the live cluster: the rounds promote what is read, within the tier's capacity
// counted on the cluster itself. The rounds' own rules (refusals, what the policy is told) are
// tested over an in-memory storage in tests/unit/engine/lun_rounds_test.cc.
#include "ceph/lun_tiering.h"

#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/policy/policy_registry.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;

// Reactive placement on the live cluster: the extents read get promoted to nvme-a, but never
// more of them than nvme-a's capacity for this LUN, counted on the cluster itself.
TEST(LunTiering, PromotesReadExtentsWithinTheTierCapacity) {
    const std::uint64_t size = 8 * kExtent;
    auto lun = TieredStorage::create("hdd-a", unique_name("lt"), size);
    lun->write(0, std::vector<char>(size, 'q'));
    const StorageModel config = live_tier_config(/*nvme_a_extents=*/2);
    std::vector<TierSpec> specs = tier_specs(config);
    LunRoundsOptions options;
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
    EXPECT_EQ(allocated_extents(lun->tier_image(1), size), 2u);
    // One that does not: nvme-a never holds more than its capacity, counted on the cluster.
    rounds(5, 10);
    const auto stats = tiering.stats();
    EXPECT_GT(stats.moved, 2u);
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_LE(stats.extents_in_tier[1], 2u);
    EXPECT_LE(allocated_extents(lun->tier_image(1), size), 2u)
        << "nvme-a holds more of this LUN than its capacity";
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'q'));
    ASSERT_FALSE(tiering.history().empty());
    EXPECT_EQ(tiering.history().front().outcome, "moved");
}

}  // namespace
}  // namespace rbdtier::test
