// open_tiered_lun_store() on the local cluster: how many librbd image opens tiering a LUN costs.
// An open builds a whole image context even when it fails (ceph/image.h), and a gateway tiers
// many LUNs at once, so the first tiering of a LUN opens each new tier image once (to tag it)
// and asks whether one is there from its header; a LUN whose tiering exists opens none of the
// tier images it does not use. Given another client to read headers with, the store makes new
// tier images ready through it. A home image with a data pool: which pools hold tier images.
#include "ceph/tiered_lun_store.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "ceph/image.h"
#include "ceph/placement_map.h"
#include "ceph/tier_images.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kImageBytes = 64ull << 20;

// A home image made for the test (its data in a data pool when given), removed with its tiering.
class HomeImageTest : public ::testing::Test {
protected:
    void create_home(const std::string& pool, const std::string& stem,
                     const std::string& data_pool = {}) {
        cluster_.emplace(connect_test_cluster());
        home_io_.emplace(open_test_pool(*cluster_, pool));
        pool_ = pool;
        name_ = unique_name(stem);
        ceph::ImageCreateOptions options;
        options.data_pool = data_pool;
        ASSERT_TRUE(ceph::create_image(*home_io_, name_, kImageBytes, options).is_ok());
    }
    void TearDown() override {
        if (!home_io_) return;
        (void)ceph::remove_tiered_lun_store(*cluster_, pool_, "", name_, pools_);
        home_.reset();
        (void)ceph::remove_image(*home_io_, name_);
    }

    std::vector<std::string> pools_;
    std::optional<ceph::Cluster> cluster_;
    std::optional<ceph::IoContext> home_io_;
    std::string pool_, name_;
    std::optional<ceph::Image> home_;  // the home image, when the test opens it
};

class TieredLunStoreOpens : public HomeImageTest {
protected:
    void SetUp() override {
        pools_ = {"hdd-a", "nvme-a", "nvme-b"};
        create_home("hdd-a", "opens");
        auto home = ceph::Image::open(*home_io_, name_);
        ASSERT_TRUE(home) << home.status().message();
        home_.emplace(std::move(*home));
    }

    // The librbd opens one open_tiered_lun_store() of the LUN asks for (the headers of tier
    // images not in use read through `header_reader` when given).
    std::uint64_t opens_of_one_store_open(const ceph::Cluster* header_reader = nullptr) {
        const std::uint64_t before = ceph::Image::opens_attempted();
        auto store = ceph::open_tiered_lun_store(*cluster_, "hdd-a", "", name_, pools_, &*home_,
                                                 header_reader);
        EXPECT_TRUE(store) << store.status().message();
        return ceph::Image::opens_attempted() - before;
    }
};

TEST_F(TieredLunStoreOpens, FirstTieringOpensEachNewTierImageOnce) {
    // Two tier pools: each tier image is created, then opened once to be tagged and closed.
    EXPECT_EQ(opens_of_one_store_open(), 2u);
}

TEST_F(TieredLunStoreOpens, ReopenedTieringOpensNoUnusedTierImage) {
    ASSERT_EQ(opens_of_one_store_open(), 2u);
    // Every extent at home: the tier images are checked from their headers, none opened.
    EXPECT_EQ(opens_of_one_store_open(), 0u);
}

TEST_F(TieredLunStoreOpens, HeaderReaderMakesNewTierImagesReady) {
    // Created and tagged through the other client; the next open finds them ready.
    const ceph::Cluster reader = connect_test_cluster();
    ASSERT_EQ(opens_of_one_store_open(&reader), 2u);
    EXPECT_EQ(opens_of_one_store_open(), 0u);
}

// A home image with its data in another pool (`rbd create --data-pool`): that pool is the home
// tier's, so listed among the tiers it gets no tier image; a tier image made there before (with
// data the map puts there) stays a tier, so no extent is lost.
class DataPoolStore : public HomeImageTest {
protected:
    void SetUp() override {
        pools_ = {"hdd-a", "nvme-b"};
        create_home("nvme-a", "datapool", "hdd-a");
    }
};

TEST_F(DataPoolStore, TheDataPoolListedIsTheHomeTier) {
    auto store = ceph::open_tiered_lun_store(*cluster_, "nvme-a", "", name_, pools_);
    ASSERT_TRUE(store) << store.status().message();
    ASSERT_EQ(store->images.count(), 2u);
    EXPECT_EQ(store->images.pool(0), "nvme-a");
    EXPECT_EQ(store->images.data_pool(0), "hdd-a");
    EXPECT_EQ(store->images.pool(1), "nvme-b");
    EXPECT_EQ(store->map.header().tiers, std::vector<std::string>{"nvme-b"});
}

TEST_F(DataPoolStore, ATierImageInTheDataPoolStaysWhileTheMapHasDataThere) {
    auto lun = ceph::identity_of(*cluster_, "nvme-a", "", name_);
    ASSERT_TRUE(lun) << lun.status().message();
    {
        // What a gateway that took the data pool for a tier pool left: a tier image there and
        // an extent mapped to it.
        auto images = ceph::TierImages::open(*cluster_, "nvme-a", "", name_, {"hdd-a"},
                                             [](const std::string&) { return true; });
        ASSERT_TRUE(images) << images.status().message();
        auto map = ceph::PlacementMap::create(open_test_pool(*cluster_, "nvme-a"), *lun, {"hdd-a"});
        ASSERT_TRUE(map) << map.status().message();
        ASSERT_TRUE(map->acquire_fence().is_ok());
        ASSERT_TRUE(
            map->commit(0, std::nullopt, ceph::PlacementEntry{"hdd-a", 0, 0}, "hdd-a").is_ok());
        ASSERT_TRUE(map->clear_intent(0).is_ok());
        ASSERT_TRUE(map->release_fence().is_ok());
    }
    auto store = ceph::open_tiered_lun_store(*cluster_, "nvme-a", "", name_, pools_);
    ASSERT_TRUE(store) << store.status().message();
    ASSERT_EQ(store->images.count(), 3u);
    EXPECT_EQ(store->images.index_of("hdd-a"), std::optional<std::size_t>(1));
    EXPECT_TRUE(store->images.is_open(1));
    EXPECT_EQ(store->images.data_pool(0), "hdd-a");
}

}  // namespace
}  // namespace rbdtier::test
