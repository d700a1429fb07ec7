#include <gtest/gtest.h>

#include <cerrno>

#include "tiered_lun_fixture.h"

namespace rbdtier::test {
namespace {

TEST(PlacementEntry, EncodeDecodeRoundTripAndRejectsGarbage) {
    ceph::PlacementEntry e{"nvme-b", 7, 0xdeadbeef};
    EXPECT_EQ(e.encode(), "pool=nvme-b gen=7 crc=deadbeef");
    auto back = ceph::PlacementEntry::decode(e.encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, e);
    EXPECT_FALSE(ceph::PlacementEntry::decode(""));
    EXPECT_FALSE(ceph::PlacementEntry::decode("pool=x gen=1"));
    EXPECT_FALSE(ceph::PlacementEntry::decode("pool=x gen=z crc=1"));
    EXPECT_FALSE(ceph::PlacementEntry::decode("pool= gen=1 crc=1"));
}

TEST(PlacementMap, GuardedCommitsRefuseStaleWriters) {
    auto cluster = connect_test_cluster();
    const std::string image = unique_name("map");
    auto io_a = ceph::IoContext::open(cluster, "hdd-a");
    auto io_b = ceph::IoContext::open(cluster, "hdd-a");
    ASSERT_TRUE(io_a && io_b);
    auto a = ceph::PlacementMap::load(std::move(*io_a), image);
    auto b = ceph::PlacementMap::load(std::move(*io_b), image);
    ASSERT_TRUE(a) << a.status().message();
    ASSERT_TRUE(b) << b.status().message();
    EXPECT_TRUE(a->entries().empty());

    // A changes the map; B, which read it before, must not overwrite it.
    ASSERT_TRUE(a->commit(1, ceph::PlacementEntry{"nvme-a", 0, 11}).is_ok());
    auto stale = b->commit(2, ceph::PlacementEntry{"nvme-b", 0, 22});
    EXPECT_FALSE(stale.is_ok());
    EXPECT_TRUE(stale.code() == -ERANGE || stale.code() == -EOVERFLOW) << stale.message();
    ASSERT_TRUE(b->reload().is_ok());
    ASSERT_TRUE(b->find(1));
    EXPECT_EQ(b->find(1)->pool, "nvme-a");
    EXPECT_EQ(b->find(1)->generation, 1u);
    ASSERT_TRUE(b->commit(2, ceph::PlacementEntry{"nvme-b", 0, 22}).is_ok());

    // Now A is stale: its commit fails and changes nothing.
    EXPECT_FALSE(a->commit(1, ceph::PlacementEntry{"hdd-b", 0, 33}).is_ok());
    ASSERT_TRUE(b->reload().is_ok());
    EXPECT_EQ(b->find(1)->pool, "nvme-a");
    ASSERT_TRUE(a->reload().is_ok());
    ASSERT_TRUE(a->commit(1, ceph::PlacementEntry{"hdd-b", 0, 33}).is_ok());
    EXPECT_EQ(a->find(1)->generation, 2u);
    // Back home removes the key.
    ASSERT_TRUE(a->commit(2, std::nullopt).is_ok());
    ASSERT_TRUE(b->reload().is_ok());
    EXPECT_FALSE(b->find(2));
    EXPECT_EQ(b->entries().size(), 1u);
    ASSERT_TRUE(a->remove().is_ok());
}

}  // namespace
}  // namespace rbdtier::test
