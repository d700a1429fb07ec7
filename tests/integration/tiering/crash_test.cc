#include <gtest/gtest.h>
#include <rbd/librbd.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <map>
#include <random>

#include "ceph/tiered_lun_store.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

extern char** environ;

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kSize = 16 << 20;

// Runs crash_child with RBDTIER_CRASH_AT=point; returns its wait status.
int run_child(const std::string& point, const std::string& image, const std::string& to) {
    const std::string child = CRASH_CHILD_PATH;
    std::vector<std::string> args = {child, "hdd-a", image, std::to_string(kSize), "2", to};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) {
        if (std::string(*e).rfind("RBDTIER_CRASH_AT=", 0) != 0) env_store.emplace_back(*e);
    }
    env_store.push_back("RBDTIER_CRASH_AT=" + point);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, child.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

// A scrub of `lun` finds nothing left for it (no stray copy, no intent, no damage), and the LUN
// still reads as `data`.
void expect_nothing_for_scrub(TieredStorage& lun, const std::vector<char>& data) {
    ceph::ScrubReport report;
    ASSERT_TRUE(lun.migrator().scrub(report).is_ok());
    EXPECT_EQ(report.stray_removed, 0u) << "a stray copy left for scrub";
    EXPECT_EQ(report.intents_cleaned, 0u);
    EXPECT_EQ(report.crc_mismatch, 0u);
    EXPECT_TRUE(report.problems.empty());
    EXPECT_EQ(lun.read(0, kSize), data);
}

class CrashAt : public ::testing::TestWithParam<std::string> {};

// The gateway dies (SIGKILL) at a step of the migration. The map then holds an intent naming
// the one copy the crash may have left; the next owner removes it when it takes the LUN over
// (no scrub needed), every byte is as written, and the map points at a complete copy.
TEST_P(CrashAt, EveryByteSurvivesAndScrubCleans) {
    const std::string image = unique_name("crash-" + GetParam());
    std::vector<char> data(kSize);
    std::mt19937 rng(3);
    for (auto& c : data) c = static_cast<char>(rng());
    {
        auto lun = TieredStorage::create("hdd-a", image, kSize);
        lun->write(0, data);
        lun->remove_all_on_exit(false);
    }
    const int status = run_child(GetParam(), image, "nvme-b");
    ASSERT_TRUE(WIFSIGNALED(status)) << "child did not crash, status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);

    {
        auto cluster = connect_test_cluster();
        auto left = ceph::read_placement_map(cluster, "hdd-a", "", image);
        ASSERT_TRUE(left) << left.status().message();
        ASSERT_EQ(left->intents().size(), 1u) << "the crashed migration's intent";
        const bool committed = GetParam() == "commit" || GetParam() == "clean";
        EXPECT_EQ(left->intents().at(2), committed ? "hdd-a" : "nvme-b");
    }
    // The restarted gateway takes the LUN over from the dead one, as after a failover: it takes
    // the map's fence (the dead one's lock is broken) and cleans what the intent names.
    auto lun = TieredStorage::open("hdd-a", image, kSize);
    auto taken = lun->images().take_over();
    ASSERT_TRUE(taken.is_ok()) << taken.message();
    EXPECT_TRUE(lun->map().intents().empty());
    const auto entry = lun->map().find(2);
    if (GetParam() == "commit" || GetParam() == "clean") {
        ASSERT_TRUE(entry);
        EXPECT_EQ(entry->pool, "nvme-b");
    } else {
        EXPECT_FALSE(entry) << "map changed before the commit step";
    }
    EXPECT_EQ(lun->read(0, kSize), data);
    expect_nothing_for_scrub(*lun, data);
}

INSTANTIATE_TEST_SUITE_P(Steps, CrashAt,
                         ::testing::Values("intent", "copy", "verify", "commit", "clean"));

// The gateway dies with a verified copy of extent 2 in nvme-b that the map does not point at,
// and the next owner cannot remove it when it takes the LUN over (nvme-b's OSD is down): the
// intent is the only record of that copy. A migration of the extent to another tier never
// loses it: while nvme-b cannot be cleaned the migration is refused and the intent stays; once
// it can, the migration removes the copy first. Every byte reads as written throughout.
TEST(LeftoverCopy, AMigrationElsewhereRemovesItOrKeepsItsIntent) {
    const std::string image = unique_name("crash-leftover");
    std::vector<char> shadow = pattern(kSize, 11);
    {
        auto lun = TieredStorage::create("hdd-a", image, kSize);
        lun->write(0, shadow);
        lun->remove_all_on_exit(false);
    }
    const int status = run_child("verify", image, "nvme-b");
    ASSERT_TRUE(WIFSIGNALED(status)) << "child did not crash, status " << status;

    const std::map<std::uint64_t, std::string> leftover = {{2, "nvme-b"}};
    auto lun = TieredStorage::open("hdd-a", image, kSize, /*own=*/false);
    ASSERT_EQ(lun->map().intents(), leftover);
    ASSERT_TRUE(lun->images().take_over().is_ok());
    const std::size_t nvme_a = *lun->images().index_of("nvme-a");
    const std::size_t nvme_b = *lun->images().index_of("nvme-b");
    ASSERT_EQ(allocated_extents(lun->tier_image(nvme_b), kSize), 1u) << "the dead one's copy";
    {
        StoppedOsd down(2);  // osd.2 holds nvme-b
        const ceph::Status taken = lun->migrator().take_ownership();
        EXPECT_FALSE(taken.is_ok()) << "removed the copy in nvme-b with its OSD down";
        ASSERT_TRUE(lun->migrator().owner()) << "the map's fence is held all the same";
        EXPECT_EQ(lun->map().intents(), leftover);

        MigrationRecord record;
        const ceph::Status s = lun->migrator().migrate(2, nvme_a, record);
        EXPECT_FALSE(s.is_ok()) << "moved while the copy in nvme-b could not be removed";
        EXPECT_NE(record.outcome.find("nvme-b"), std::string::npos) << record.outcome;
        EXPECT_EQ(lun->map().intents(), leftover) << "the record of the copy in nvme-b is lost";
        EXPECT_EQ(lun->read(0, kSize), shadow);
    }
    // nvme-b answers again. The extent is written first, so that the copy there is stale.
    const std::uint64_t extent_bytes = lun->extent_size();
    const std::vector<char> rewritten = pattern(extent_bytes, 12);
    lun->write(2 * extent_bytes, rewritten);
    std::copy(rewritten.begin(), rewritten.end(), shadow.begin() + 2 * extent_bytes);
    MigrationRecord record;
    const ceph::Status s = lun->migrator().migrate(2, nvme_a, record);
    EXPECT_TRUE(s.is_ok()) << record.outcome;
    ASSERT_TRUE(lun->map().find(2));
    EXPECT_EQ(lun->map().find(2)->pool, "nvme-a");
    EXPECT_TRUE(lun->map().intents().empty());
    EXPECT_EQ(allocated_extents(lun->tier_image(nvme_b), kSize), 0u)
        << "the copy in nvme-b is left, and nothing records it";
    EXPECT_EQ(lun->read(0, kSize), shadow);
    {
        auto cluster = connect_test_cluster();
        auto stored = ceph::read_placement_map(cluster, "hdd-a", "", image);
        ASSERT_TRUE(stored) << stored.status().message();
        EXPECT_TRUE(stored->intents().empty());
    }
    expect_nothing_for_scrub(*lun, shadow);
}

}  // namespace
}  // namespace rbdtier::test
