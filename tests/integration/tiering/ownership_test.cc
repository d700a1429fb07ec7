// Who may change a tiered LUN's placement, and from what: deterministic regressions for paths
// that lost data when two gateways (two RADOS clients) worked on one LUN or a gateway's view was
// old. Each test's comment says what went wrong before.
#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ceph/tiered_lun_store.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kSize = 4 * kExtent;

// One LUN served by two gateways: `first` created it and wrote `data`; `second` opened it after,
// taking it over (its owner now) or not.
struct TwoGateways {
    std::unique_ptr<TieredStorage> first, second;
    std::vector<char> data;
};
TwoGateways two_gateways(const std::string& stem, std::uint32_t seed, bool take_over) {
    const std::string name = unique_name(stem);
    TwoGateways g{TieredStorage::create("hdd-a", name, kSize), nullptr, pattern(kSize, seed)};
    g.first->write(0, g.data);
    g.second = TieredStorage::open("hdd-a", name, kSize, take_over);
    g.second->remove_all_on_exit(false);
    return g;
}

// A scrub by `gateway`, which does not own the LUN, is refused and removes nothing; `owner` still
// reads `data`.
void expect_scrub_refused(TieredStorage& gateway, TieredStorage& owner,
                          const std::vector<char>& data) {
    ceph::ScrubReport report;
    EXPECT_EQ(gateway.migrator().scrub(report).code(), -ESTALE);
    EXPECT_EQ(report.stray_removed, 0u);
    EXPECT_EQ(owner.read(0, kSize), data);
}

// The source of a migration is the committed map entry, never the gateway's routing: with a
// routing that disagrees with the map (an old view), the migration is refused and no byte moves
// (copying from where the routing points — here an empty tier image — would commit that copy and
// discard the live data at home).
TEST(Ownership, MigrationSourceIsTheMapNotTheRouting) {
    auto lun = TieredStorage::create("hdd-a", unique_name("own-src"), kSize);
    const auto data = pattern(kSize, 1);
    lun->write(0, data);
    const auto nvme_a = *lun->images().index_of("nvme-a");
    const auto nvme_b = *lun->images().index_of("nvme-b");
    lun->gate().set_tier(1, static_cast<ceph::ExtentGate::TierIndex>(nvme_a));  // an old view
    MigrationRecord record;
    const auto s = lun->migrator().migrate(1, nvme_b, record);
    EXPECT_FALSE(s.is_ok()) << record.outcome;
    EXPECT_FALSE(lun->map().find(1)) << "nothing committed";
    lun->gate().set_tier(1, 0);
    EXPECT_EQ(lun->read(0, kSize), data);
}

// Every commit is fenced: once another gateway has taken the LUN over, the old owner's
// migrations change nothing (an old owner that moved the extent would discard the copy the new
// owner reads, which would then read zeros).
TEST(Ownership, OldOwnerCannotMoveAfterTakeover) {
    auto g = two_gateways("own-fence", 2, /*take_over=*/true);
    auto& old_owner = g.first;
    auto& new_owner = g.second;
    const auto& data = g.data;

    MigrationRecord record;
    const auto s =
        old_owner->migrator().migrate(2, *old_owner->images().index_of("nvme-b"), record);
    EXPECT_FALSE(s.is_ok()) << record.outcome;
    EXPECT_EQ(s.code(), -ESTALE) << s.message();
    EXPECT_EQ(new_owner->read(0, kSize), data);
    ASSERT_TRUE(new_owner->map().reload().is_ok());
    EXPECT_FALSE(new_owner->map().find(2));
    EXPECT_TRUE(new_owner->map().intents().empty());

    // The new owner moves it; the old one cannot scrub it away either.
    ASSERT_TRUE(
        new_owner->migrator().migrate(2, *new_owner->images().index_of("nvme-b"), record).is_ok())
        << record.outcome;
    expect_scrub_refused(*old_owner, *new_owner, data);
}

// Scrub runs only on the owner and against the map re-read under its lock (a gateway whose map
// is older than the owner's moves would delete the moved extents as strays: live data).
TEST(Ownership, ScrubOnAFollowerDeletesNothing) {
    auto g = two_gateways("own-scrub", 3, /*take_over=*/false);
    auto& owner = g.first;
    auto& follower = g.second;
    const auto& data = g.data;
    for (std::uint64_t e = 0; e < 4; ++e) {
        MigrationRecord record;
        const auto to = *owner->images().index_of(e % 2 ? "nvme-a" : "hdd-b");
        ASSERT_TRUE(owner->migrator().migrate(e, to, record).is_ok()) << record.outcome;
    }
    expect_scrub_refused(*follower, *owner, data);

    // The owner's scrub finds nothing to remove, and the data stays.
    ceph::ScrubReport report;
    ASSERT_TRUE(owner->migrator().scrub(report).is_ok());
    EXPECT_EQ(report.stray_removed, 0u);
    EXPECT_EQ(owner->read(0, kSize), data);
}

// A LUN whose tier images exist without a map is refused, and nothing is deleted (a missing map
// read as empty — everything at home — would have the next scrub delete all tier data).
TEST(Ownership, MissingMapIsRefusedNotEmpty) {
    const std::string name = unique_name("own-nomap");
    auto lun = TieredStorage::create("hdd-a", name, kSize);
    const auto data = pattern(kSize, 4);
    lun->write(0, data);
    MigrationRecord record;
    ASSERT_TRUE(lun->migrator().migrate(1, *lun->images().index_of("nvme-b"), record).is_ok());
    const ceph::LunIdentity identity = lun->images().lun();
    lun->remove_all_on_exit(false);
    lun.reset();
    auto cluster = connect_test_cluster();
    auto home = open_test_pool(cluster, "hdd-a");
    ASSERT_TRUE(ceph::PlacementMap::remove(home, identity).is_ok());

    auto refused = ceph::open_tiered_lun_store(cluster, "hdd-a", "", name, kAllPools);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.status().message().find("placement map"), std::string::npos)
        << refused.status().message();
    EXPECT_NE(refused.status().message().find("rbdtier lun repair"), std::string::npos)
        << refused.status().message();
    auto exists = ceph::PlacementMap::exists(home, identity);
    ASSERT_TRUE(exists);
    EXPECT_FALSE(*exists) << "refusing creates no empty map";
    {  // The moved extent is still in its tier image.
        auto nvme_b = open_test_pool(cluster, "nvme-b");
        auto tier = ceph::Image::open(nvme_b, identity.tier_image_name());
        ASSERT_TRUE(tier) << tier.status().message();
        std::vector<char> got(kExtent);
        ASSERT_EQ(rbd_read(tier->handle(), kExtent, kExtent, got.data()),
                  static_cast<ssize_t>(kExtent));
        EXPECT_TRUE(std::equal(got.begin(), got.end(), data.begin() + kExtent));
    }

    // `rbdtier lun repair` rebuilds the map from what the tier images hold; the LUN opens again
    // with every byte where it was.
    auto repaired = ceph::repair_placement_map(cluster, "hdd-a", "", name, kAllPools, true);
    ASSERT_TRUE(repaired) << repaired.status().message();
    EXPECT_TRUE(repaired->written);
    EXPECT_TRUE(repaired->ambiguous.empty());
    EXPECT_EQ(repaired->placed, (std::map<std::uint64_t, std::string>{{1, "nvme-b"}}));
    {
        auto again = TieredStorage::open("hdd-a", name, kSize);
        again->remove_all_on_exit(false);
        EXPECT_EQ(again->map().find(1)->pool, "nvme-b");
        EXPECT_EQ(again->read(0, kSize), data);
        ceph::ScrubReport report;
        ASSERT_TRUE(again->migrator().scrub(report).is_ok());
        EXPECT_EQ(report.crc_mismatch, 0u);
    }
    EXPECT_EQ(
        ceph::repair_placement_map(cluster, "hdd-a", "", name, kAllPools, true).status().code(),
        -EEXIST)
        << "a LUN with a map is not repaired";
    ASSERT_TRUE(ceph::remove_tiered_lun_store(cluster, "hdd-a", "", name, kAllPools).is_ok());
    ASSERT_TRUE(ceph::remove_image(home, name).is_ok());
}

// Repair writes nothing when an extent's copies differ (which one is current cannot be told),
// and says which extents and pools.
TEST(Ownership, RepairRefusesAmbiguousExtents) {
    const std::string name = unique_name("own-ambig");
    auto lun = TieredStorage::create("hdd-a", name, kSize);
    const auto data = pattern(kSize, 5);
    lun->write(0, data);
    MigrationRecord record;
    ASSERT_TRUE(lun->migrator().migrate(2, *lun->images().index_of("nvme-a"), record).is_ok());
    // A copy left at home that differs (as if the move had been interrupted after new writes).
    std::vector<char> other(kExtent, 'x');
    ASSERT_EQ(rbd_write(lun->images().opened(0)->handle(), 2 * kExtent, kExtent, other.data()),
              static_cast<ssize_t>(kExtent));
    const ceph::LunIdentity identity = lun->images().lun();
    lun->remove_all_on_exit(false);
    lun.reset();
    auto cluster = connect_test_cluster();
    auto home = open_test_pool(cluster, "hdd-a");
    ASSERT_TRUE(ceph::PlacementMap::remove(home, identity).is_ok());
    auto repaired = ceph::repair_placement_map(cluster, "hdd-a", "", name, kAllPools, true);
    ASSERT_TRUE(repaired) << repaired.status().message();
    EXPECT_FALSE(repaired->written);
    EXPECT_EQ(repaired->ambiguous,
              (std::map<std::uint64_t, std::vector<std::string>>{{2, {"hdd-a", "nvme-a"}}}));
    auto exists = ceph::PlacementMap::exists(home, identity);
    ASSERT_TRUE(exists);
    EXPECT_FALSE(*exists);
    ASSERT_TRUE(ceph::remove_tiered_lun_store(cluster, "hdd-a", "", name, kAllPools).is_ok());
    ASSERT_TRUE(ceph::remove_image(home, name).is_ok());
}

}  // namespace
}  // namespace rbdtier::test
