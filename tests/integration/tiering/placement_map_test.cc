#include <gtest/gtest.h>

#include <cerrno>

#include "tiered_storage_fixture.h"

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

TEST(MapHeader, EncodeDecodeRoundTripAndRejectsGarbage) {
    ceph::MapHeader h{2, "3//10a2b3c", {"nvme-a", "hdd-b"}};
    EXPECT_EQ(h.encode(), "format=2 lun=3//10a2b3c tiers=nvme-a+hdd-b");
    auto back = ceph::MapHeader::decode(h.encode());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, h);
    EXPECT_TRUE(ceph::MapHeader::decode("format=2 lun=1/ns/x tiers="));
    EXPECT_FALSE(ceph::MapHeader::decode(""));
    EXPECT_FALSE(ceph::MapHeader::decode("format=x lun=1//a tiers=p"));
    EXPECT_FALSE(ceph::MapHeader::decode("format=2 lun= tiers=p"));
    EXPECT_FALSE(ceph::MapHeader::decode("format=2 lun=1//a tiers=p++q"));
    EXPECT_FALSE(ceph::MapHeader::decode("format=2 lun=1//a tiers=p+"));
    EXPECT_FALSE(ceph::MapHeader::decode("format=2 tiers=p lun=1//a"));
}

class PlacementMapTest : public ::testing::Test {
protected:
    void SetUp() override {
        cluster_.emplace(connect_test_cluster());
        home_.emplace(open_test_pool(*cluster_, "hdd-a"));
        lun_ = ceph::LunIdentity{home_->pool_id(), "", unique_name("id")};
    }
    void TearDown() override {
        if (home_) (void)ceph::PlacementMap::remove(*home_, lun_);
    }
    ceph::PlacementMap open_map() {
        auto map = ceph::PlacementMap::open(open_test_pool(*cluster_, "hdd-a"), lun_);
        if (!map) throw std::runtime_error(map.status().message());
        return std::move(*map);
    }
    void put(const std::string& key, const std::string& value) {
        const char* keys[] = {key.c_str()};
        const char* vals[] = {value.data()};
        const size_t key_lens[] = {key.size()};
        const size_t val_lens[] = {value.size()};
        rados_write_op_t op = rados_create_write_op();
        rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
        ASSERT_EQ(
            rados_write_op_operate(op, home_->handle(), lun_.map_object_name().c_str(), nullptr, 0),
            0);
        rados_release_write_op(op);
    }

    std::optional<ceph::Cluster> cluster_;
    std::optional<ceph::IoContext> home_;
    ceph::LunIdentity lun_;
};

// A missing map is an error, not an empty map; so is a map without a header or of another LUN.
TEST_F(PlacementMapTest, MissingOrForeignMapIsAnError) {
    auto missing = ceph::PlacementMap::open(open_test_pool(*cluster_, "hdd-a"), lun_);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.status().code(), -ENOENT) << missing.status().message();
    auto exists = ceph::PlacementMap::exists(*home_, lun_);
    ASSERT_TRUE(exists);
    EXPECT_FALSE(*exists);

    auto created = ceph::PlacementMap::create(open_test_pool(*cluster_, "hdd-a"), lun_, {"nvme-a"});
    ASSERT_TRUE(created) << created.status().message();
    EXPECT_EQ(created->header().tiers, std::vector<std::string>{"nvme-a"});
    EXPECT_EQ(
        ceph::PlacementMap::create(open_test_pool(*cluster_, "hdd-a"), lun_, {}).status().code(),
        -EEXIST);

    put("header", "format=2 lun=99//other tiers=nvme-a");
    auto foreign = ceph::PlacementMap::open(open_test_pool(*cluster_, "hdd-a"), lun_);
    ASSERT_FALSE(foreign);
    EXPECT_NE(foreign.status().message().find("belongs to LUN 99//other"), std::string::npos)
        << foreign.status().message();
    put("header", "format=7 lun=" + lun_.key() + " tiers=nvme-a");
    EXPECT_FALSE(ceph::PlacementMap::open(open_test_pool(*cluster_, "hdd-a"), lun_));
    put("header", "format=2 lun=" + lun_.key() + " tiers=nvme-a");
    put("0000000000000001", "garbage");
    auto bad = ceph::PlacementMap::open(open_test_pool(*cluster_, "hdd-a"), lun_);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.status().code(), -EINVAL);
}

// Only the fence holder changes the map: a gateway whose lock was broken by the new owner
// cannot commit, and a commit is a compare-and-set on the entry the copy started from.
TEST_F(PlacementMapTest, CommitsAreFencedAndCompareTheEntry) {
    ASSERT_TRUE(ceph::PlacementMap::create(open_test_pool(*cluster_, "hdd-a"), lun_, {}));
    auto other = connect_test_cluster();  // a second gateway: another RADOS client
    auto a = open_map();
    auto b_io = open_test_pool(other, "hdd-a");
    auto b = ceph::PlacementMap::open(std::move(b_io), lun_);
    ASSERT_TRUE(b);

    EXPECT_EQ(a.commit(1, std::nullopt, ceph::PlacementEntry{"nvme-a", 0, 11}, "hdd-a").code(),
              -ESTALE)
        << "no commit without the fence";
    ASSERT_TRUE(a.acquire_fence().is_ok());
    ASSERT_TRUE(a.commit(1, std::nullopt, ceph::PlacementEntry{"nvme-a", 0, 11}, "hdd-a").is_ok());
    EXPECT_EQ(a.find(1)->generation, 1u);
    EXPECT_EQ(a.intents().at(1), "hdd-a");

    // B takes the LUN over: A's next change fails, and changes nothing.
    ASSERT_TRUE(b->acquire_fence().is_ok());
    EXPECT_EQ(b->find(1)->pool, "nvme-a");
    auto stale = a.commit(1, a.find(1), ceph::PlacementEntry{"hdd-b", 0, 33}, "nvme-a");
    EXPECT_EQ(stale.code(), -ESTALE) << stale.message();
    EXPECT_FALSE(a.fence_held());
    EXPECT_EQ(a.set_intent(2, "nvme-b").code(), -ESTALE);
    ASSERT_TRUE(b->reload().is_ok());
    EXPECT_EQ(b->find(1)->pool, "nvme-a");
    EXPECT_EQ(b->intents().count(2), 0u);

    // A compare-and-set against an entry that is no longer the stored one fails.
    const ceph::PlacementEntry old{"nvme-a", 1, 11};
    ASSERT_TRUE(b->commit(1, old, ceph::PlacementEntry{"nvme-b", 0, 22}, "nvme-a").is_ok());
    EXPECT_EQ(b->find(1)->generation, 2u);
    auto raced = b->commit(1, old, ceph::PlacementEntry{"hdd-b", 0, 33}, "nvme-a");
    EXPECT_EQ(raced.code(), -ECANCELED) << raced.message();
    auto absent = b->commit(1, std::nullopt, ceph::PlacementEntry{"hdd-b", 0, 33}, "hdd-a");
    EXPECT_EQ(absent.code(), -ECANCELED) << "an absent entry compares as absent";
    // Back home removes the key; the intent names what is left to clean.
    ASSERT_TRUE(b->commit(1, b->find(1), std::nullopt, "nvme-b").is_ok());
    ASSERT_TRUE(b->reload().is_ok());
    EXPECT_FALSE(b->find(1));
    EXPECT_EQ(b->intents().at(1), "nvme-b");
    ASSERT_TRUE(b->clear_intent(1).is_ok());
    ASSERT_TRUE(b->release_fence().is_ok());
    ASSERT_TRUE(a.acquire_fence().is_ok()) << "a released fence is free";
}

// An extent's intent is the one record of a copy the map does not point at: recording another
// one for it never replaces it, and an intent stored behind the map's back is not overwritten.
TEST_F(PlacementMapTest, AnIntentNamingAnotherPoolIsNeverReplaced) {
    ASSERT_TRUE(ceph::PlacementMap::create(open_test_pool(*cluster_, "hdd-a"), lun_, {}));
    auto map = open_map();
    ASSERT_TRUE(map.acquire_fence().is_ok());
    ASSERT_TRUE(map.set_intent(1, "nvme-a").is_ok());
    EXPECT_TRUE(map.set_intent(1, "nvme-a").is_ok()) << "the same intent again";
    const auto other = map.set_intent(1, "nvme-b");
    EXPECT_EQ(other.code(), -EEXIST) << other.message();
    EXPECT_EQ(map.intents().at(1), "nvme-a");
    ASSERT_TRUE(map.reload().is_ok());
    EXPECT_EQ(map.intents().at(1), "nvme-a") << "as stored";

    put("intent.0000000000000002", "copy=hdd-b");  // not through this map
    const auto behind = map.set_intent(2, "nvme-b");
    EXPECT_EQ(behind.code(), -ECANCELED) << behind.message();
    ASSERT_TRUE(map.reload().is_ok());
    EXPECT_EQ(map.intents().at(2), "hdd-b");

    ASSERT_TRUE(map.clear_intent(1).is_ok());
    EXPECT_TRUE(map.set_intent(1, "nvme-b").is_ok()) << "once the other one is cleared";
    EXPECT_EQ(map.intents().at(1), "nvme-b");
}

// Before a copy an intent names is discarded, the map as stored must still hold the entry and the
// intent this map holds, and its fence: a change behind its back or a lost fence is refused.
TEST_F(PlacementMapTest, AnIntentIsConfirmedAgainstTheStoredMapUnderTheFence) {
    ASSERT_TRUE(ceph::PlacementMap::create(open_test_pool(*cluster_, "hdd-a"), lun_, {}));
    auto map = open_map();
    EXPECT_EQ(map.confirm_intent(1, "nvme-a").code(), -ESTALE) << "without the fence";
    ASSERT_TRUE(map.acquire_fence().is_ok());
    EXPECT_EQ(map.confirm_intent(1, "nvme-a").code(), -ECANCELED) << "no such intent held";
    ASSERT_TRUE(map.set_intent(1, "nvme-a").is_ok());
    EXPECT_TRUE(map.confirm_intent(1, "nvme-a").is_ok());
    EXPECT_EQ(map.confirm_intent(1, "nvme-b").code(), -ECANCELED) << "another pool";

    put("0000000000000001", ceph::PlacementEntry{"nvme-a", 1, 7}.encode());  // not through it
    const auto moved = map.confirm_intent(1, "nvme-a");
    EXPECT_EQ(moved.code(), -ECANCELED) << moved.message();
    ASSERT_TRUE(map.reload().is_ok());
    EXPECT_TRUE(map.confirm_intent(1, "nvme-a").is_ok()) << "once the map holds what is stored";
    put("intent.0000000000000001", "copy=hdd-b");
    EXPECT_EQ(map.confirm_intent(1, "nvme-a").code(), -ECANCELED);
    ASSERT_TRUE(map.reload().is_ok());

    auto other = connect_test_cluster();  // another gateway takes the LUN over
    auto b = ceph::PlacementMap::open(open_test_pool(other, "hdd-a"), lun_);
    ASSERT_TRUE(b);
    ASSERT_TRUE(b->acquire_fence().is_ok());
    EXPECT_EQ(map.confirm_intent(1, "hdd-b").code(), -ESTALE);
    EXPECT_FALSE(map.fence_held());
}

}  // namespace
}  // namespace rbdtier::test
