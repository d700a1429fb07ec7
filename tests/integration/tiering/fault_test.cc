// Migrations under OSD faults on the live cluster: an OSD of the destination pool stopped
// mid-migration makes the migration fail cleanly (map unchanged, data served from where it
// was) and a retry after the OSD is back succeeds; with the map object's OSD stopped no
// migration commits, whatever the copy did.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kSize = 16 << 20;

TEST(MigrationFaults, DestinationOsdDownFailsCleanlyThenRetrySucceeds) {
    auto lun = TieredStorage::create("hdd-a", unique_name("fault-dst"), kSize);
    const auto data = pattern(kSize, 5);
    lun->write(0, data);
    const std::size_t nvme_b = *lun->images().index_of("nvme-b");
    // Opened first (tier images open on first need): the copy's failure is what this tests.
    ASSERT_TRUE(lun->images().ensure_open(nvme_b).is_ok());
    {
        StoppedOsd down(2);  // osd.2 holds nvme-b
        MigrationRecord record;
        auto s = lun->migrator().migrate(1, nvme_b, record);
        EXPECT_FALSE(s.is_ok());
        EXPECT_NE(record.outcome.find("copy failed"), std::string::npos) << record.outcome;
        EXPECT_FALSE(lun->map().find(1));
        EXPECT_EQ(lun->gate().tier(1), 0);
        EXPECT_EQ(lun->read(0, kSize), data) << "foreground I/O goes on from the home tier";
    }
    MigrationRecord record;
    auto s = lun->migrator().migrate(1, nvme_b, record);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(lun->map().find(1)->pool, "nvme-b");
    EXPECT_EQ(lun->read(0, kSize), data);
}

TEST(MigrationFaults, MapUnreachableNothingCommits) {
    auto lun = TieredStorage::create("hdd-a", unique_name("fault-map"), kSize);
    const auto data = pattern(kSize, 6);
    lun->write(0, data);
    MigrationRecord first;
    ASSERT_TRUE(lun->migrator().migrate(2, *lun->images().index_of("nvme-b"), first).is_ok());
    {
        StoppedOsd down(1);  // osd.1 holds hdd-a: the home image and the placement map
        MigrationRecord record;
        auto s = lun->migrator().migrate(2, *lun->images().index_of("nvme-a"), record);
        EXPECT_FALSE(s.is_ok());
        // The intent, written to the map before any copy, cannot be recorded: nothing moves.
        EXPECT_EQ(record.outcome.rfind("refused", 0), 0u) << record.outcome;
        EXPECT_EQ(lun->images().pool(lun->gate().tier(2)), "nvme-b") << "still served from nvme-b";
        EXPECT_EQ(lun->read(2 * (4 << 20), 4 << 20),
                  std::vector<char>(data.begin() + 2 * (4 << 20), data.begin() + 3 * (4 << 20)));
    }
    ASSERT_TRUE(lun->map().reload().is_ok());
    EXPECT_EQ(lun->map().find(2)->pool, "nvme-b");
    EXPECT_EQ(lun->read(0, kSize), data);
    ceph::ScrubReport report;
    ASSERT_TRUE(lun->migrator().scrub(report).is_ok());
    EXPECT_EQ(report.crc_mismatch, 0u);
}

}  // namespace
}  // namespace rbdtier::test
