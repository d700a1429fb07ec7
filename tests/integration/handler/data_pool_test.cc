// A tiered LUN whose home image keeps its data in another pool than its header
// (`rbd create --data-pool`): header in nvme-a, data in hdd-a. The LUN's identity, placement map
// and settings stay in the header's pool; its home *tier* is where the data lives: it is
// described (device class, site, latency), named and sampled as hdd-a. hdd-a listed in its tiers
// is the home tier, as the home pool is when listed: no tier image is made there. Extents moved
// between the home tier and another pool under I/O read back byte for byte (a shadow copy); which
// extents move and where the writes land come from the test's seed (tests/support/seed.h).
#include <gtest/gtest.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <sys/uio.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_identity.h"
#include "ceph/tiered_lun_store.h"
#include "lun_fixture.h"
#include "tests/support/seed.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kSize = 8 * kExtent;
constexpr const char* kHeaderPool = "nvme-a";
constexpr const char* kDataPool = "hdd-a";

class DataPoolLunTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
        image_ = std::make_unique<ScratchImage>(kHeaderPool, kSize, "datapool", kDataPool);
        ASSERT_TRUE(image_->ok());
        // The data pool listed among the tiers: it is the home tier, not a tier of its own.
        auto lun =
            build_lun(image_->config("tiers=hdd-a,nvme-b"), LunGeometry{kSize, 512}, fake_host());
        ASSERT_TRUE(lun.is_ok()) << lun.status().message();
        lun_ = std::move(lun).value();
        ASSERT_NE(lun_->tiered_lun(), nullptr);
        ASSERT_EQ(lun_->exclusive_lock().lock(1), TCMU_STS_OK);
    }
    void TearDown() override {
        lun_.reset();
        if (image_) {
            (void)ceph::remove_tiered_lun_store(image_->cluster(), kHeaderPool, "", image_->name(),
                                                {"hdd-a", "nvme-b"});
        }
        image_.reset();
    }
    int write(std::uint64_t off, const std::vector<char>& data) {
        return write_lun(*lun_, off, data);
    }
    std::vector<char> read(std::uint64_t off, std::size_t len) {
        std::vector<char> out(len);
        EXPECT_EQ(read_lun(*lun_, off, out), TCMU_STS_OK);
        return out;
    }
    void move(std::uint64_t extent, std::size_t to) {
        MigrationRecord record;
        auto s = lun_->tiered_lun()->migrator().migrate(extent, to, record);
        ASSERT_TRUE(s.is_ok()) << "extent " << extent << " to tier " << to << ": " << s.message();
    }
    // Whether `pool` holds an image named for the LUN's tier images.
    bool tier_image_in(const std::string& pool) {
        auto io = ceph::IoContext::open(image_->cluster(), pool);
        EXPECT_TRUE(io.is_ok()) << io.status().message();
        if (!io) return false;
        auto header = ceph::read_image_header(
            *io, lun_->tiered_lun()->images().lun().tier_image_name(), ceph::kTierImageTag);
        EXPECT_TRUE(header.is_ok()) << header.status().message();
        return header && header->has_value();
    }

    std::unique_ptr<ScratchImage> image_;
    std::unique_ptr<Lun> lun_;
};

TEST_F(DataPoolLunTest, HomeTierIsTheDataPool) {
    TieredLun& tiered = *lun_->tiered_lun();
    const ceph::TierImages& images = tiered.images();
    // The engine sees the home tier as the data pool's media.
    const std::vector<TierSpec>& tiers = tiered.tiering().tiers();
    ASSERT_FALSE(tiers.empty());
    EXPECT_EQ(tiers[0].name, kDataPool);
    EXPECT_EQ(tiers[0].device_class, "hdd");
    // Home image and the tier in nvme-b; none made in the data pool.
    EXPECT_FALSE(tier_image_in(kDataPool));
    ASSERT_EQ(images.count(), 2u);
    EXPECT_EQ(images.pool(0), kHeaderPool);
    EXPECT_EQ(images.pool(1), "nvme-b");
    EXPECT_EQ(images.data_pool(0), kDataPool);
    EXPECT_EQ(images.data_pool(1), "nvme-b");
    EXPECT_EQ(images.data_pools(), (std::vector<std::string>{kDataPool, "nvme-b"}));
    ASSERT_EQ(tiers.size(), 2u);
    EXPECT_EQ(tiers[1].device_class, "nvme");
    // A migration names the tiers as the engine does; the map names the tier image's pool.
    MigrationRecord record;
    ASSERT_TRUE(tiered.migrator().migrate(0, 1, record).is_ok()) << record.outcome;
    EXPECT_EQ(record.from, kDataPool);
    EXPECT_EQ(record.to, "nvme-b");
    const auto entry = tiered.map().find(0);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->pool, "nvme-b");
    // The placement map stays beside the header.
    auto header_io = ceph::IoContext::open(image_->cluster(), kHeaderPool);
    ASSERT_TRUE(header_io.is_ok());
    std::uint64_t size = 0;
    time_t mtime = 0;
    EXPECT_EQ(
        rados_stat(header_io->handle(), images.lun().map_object_name().c_str(), &size, &mtime), 0);
}

TEST_F(DataPoolLunTest, MigrationsUnderIoKeepEveryByte) {
    std::vector<char> shadow = pattern(kSize, 51);
    ASSERT_EQ(write(0, shadow), TCMU_STS_OK);
    const std::size_t tiers = lun_->tiered_lun()->images().count();
    ASSERT_EQ(tiers, 2u);
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937 rng(seed);
    for (int round = 0; round < 12; ++round) {
        const std::uint64_t extent = rng() % (kSize / kExtent);
        move(extent, (lun_->tiered_lun()->gate().tier(extent) + 1) % tiers);
        // A write straddling two extents, wherever they are now.
        const std::uint64_t off = (rng() % (kSize / kExtent - 1)) * kExtent + kExtent - 4096;
        auto data = pattern(8192, 60 + round);
        ASSERT_EQ(write(off, data), TCMU_STS_OK);
        std::copy(data.begin(), data.end(), shadow.begin() + static_cast<std::ptrdiff_t>(off));
        ASSERT_EQ(read(0, kSize), shadow) << "round " << round;
    }
    // Everything back home: the bytes are in the home image's data pool.
    for (std::uint64_t e = 0; e < kSize / kExtent; ++e)
        if (lun_->tiered_lun()->gate().tier(e) != 0) move(e, 0);
    EXPECT_EQ(read(0, kSize), shadow);
    ceph::ScrubReport report;
    ASSERT_TRUE(lun_->tiered_lun()->migrator().scrub(report).is_ok());
    EXPECT_EQ(report.stray_removed, 0u);
    EXPECT_EQ(report.crc_mismatch, 0u);
}

}  // namespace
}  // namespace rbdtier::testing
