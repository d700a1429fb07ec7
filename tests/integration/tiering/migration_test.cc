#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "ceph/checksum.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// Extents that hold data in image `index` (whole objects).
std::vector<std::uint64_t> allocated_extents(TieredStorage& lun, std::size_t index,
                                             std::uint64_t size) {
    std::vector<std::uint64_t> offsets;
    auto cb = [](std::uint64_t off, std::size_t, int exists, void* arg) -> int {
        if (exists) static_cast<std::vector<std::uint64_t>*>(arg)->push_back(off);
        return 0;
    };
    EXPECT_EQ(
        rbd_diff_iterate2(lun.tier_image(index).handle(), nullptr, 0, size, 0, 1, cb, &offsets), 0);
    for (auto& o : offsets) o /= lun.extent_size();
    return offsets;
}

TEST(ExtentMigrator, MovesAnExtentThroughEveryTierAndKeepsItsBytes) {
    const std::uint64_t size = 16 * kMiB;
    auto lun = TieredStorage::create("hdd-a", unique_name("mig1"), size);
    const auto data = pattern(size, 1);
    lun->write(0, data);
    for (const std::string pool : {"nvme-a", "nvme-b", "hdd-b", "hdd-a"}) {
        MigrationRecord record;
        auto s = lun->migrator().migrate(1, *lun->images().index_of(pool), record);
        ASSERT_TRUE(s.is_ok()) << s.message();
        EXPECT_EQ(record.outcome, "moved");
        EXPECT_EQ(record.to, pool);
        EXPECT_EQ(record.bytes, lun->extent_size());
        EXPECT_EQ(lun->images().pool(lun->gate().tier(1)), pool);
        EXPECT_EQ(lun->read(0, size), data);
        // Only the image the map names holds extent 1.
        for (std::size_t i = 0; i < lun->images().count(); ++i) {
            const auto there = allocated_extents(*lun, i, size);
            const bool has = std::find(there.begin(), there.end(), 1u) != there.end();
            EXPECT_EQ(has, lun->images().pool(i) == pool) << lun->images().pool(i);
        }
    }
    EXPECT_FALSE(lun->map().find(1));  // back home: no entry
    ceph::ScrubReport report;
    ASSERT_TRUE(lun->migrator().scrub(report).is_ok());
    EXPECT_EQ(report.stray_removed, 0u);
    EXPECT_EQ(report.crc_mismatch, 0u);
}

// What scrub keeps per committed extent (its write version at commit) stays within the extents
// away from home: moving extents out and back N times leaves nothing for those back home.
TEST(ExtentMigrator, KeepsNoCommitRecordForExtentsBackHome) {
    constexpr std::uint64_t kExtents = 8;
    constexpr int kTrips = 3;
    auto lun = TieredStorage::create("hdd-a", unique_name("mig-home"), kExtents * 4 * kMiB);
    lun->write(0, pattern(kExtents * 4 * kMiB, 2));
    const std::size_t nvme_a = *lun->images().index_of("nvme-a");
    for (int trip = 0; trip < kTrips; ++trip) {
        for (std::uint64_t e = trip == 0 ? 0 : 1; e < kExtents; ++e) {
            MigrationRecord record;
            ASSERT_TRUE(lun->migrator().migrate(e, nvme_a, record)) << record.outcome;
        }
        EXPECT_EQ(lun->migrator().committed_versions(), kExtents);
        for (std::uint64_t e = 1; e < kExtents; ++e) {  // extent 0 stays in nvme-a
            MigrationRecord record;
            ASSERT_TRUE(lun->migrator().migrate(e, 0, record)) << record.outcome;
        }
    }
    std::cout << 1 + kTrips * 2 * (kExtents - 1) << " migrations of " << kExtents
              << " extents, 1 left away from home: " << lun->migrator().committed_versions()
              << " commit records kept\n";
    EXPECT_EQ(lun->migrator().committed_versions(), 1u);
    ceph::ScrubReport report;
    ASSERT_TRUE(lun->migrator().scrub(report));
    EXPECT_EQ(report.crc_verified, 1u) << "extent 0, still unwritten in nvme-a";
}

// A tier image that is closed and cannot be opened (tagged for another LUN behind the gateway's
// back): asking TierImages for it is an error the caller carries, never an open nor an end of
// the process, and a migration to it is refused with the extent left where it was.
TEST(ExtentMigrator, AClosedTierImageIsAnErrorAndAMigrationToItLeavesTheExtent) {
    constexpr std::uint64_t kSize = 4 * 4 * kMiB;
    auto lun = TieredStorage::create("hdd-a", unique_name("mig-closed"), kSize);
    const auto data = pattern(kSize, 9);
    lun->write(0, data);
    const std::size_t nvme_b = *lun->images().index_of("nvme-b");
    ASSERT_FALSE(lun->images().is_open(nvme_b)) << "nothing placed there: not opened yet";
    {
        auto io = open_test_pool(lun->cluster(), "nvme-b");
        auto tier = ceph::Image::open(io, lun->images().lun().tier_image_name());
        ASSERT_TRUE(tier.is_ok()) << tier.status().message();
        ASSERT_TRUE(tier->metadata_set(ceph::kTierImageTag, "0//another-lun").is_ok());
    }

    auto closed = lun->images().image(nvme_b);
    ASSERT_FALSE(closed.is_ok());
    EXPECT_EQ(closed.status().code(), -EIO) << closed.status().message();
    EXPECT_NE(closed.status().message().find("nvme-b"), std::string::npos)
        << closed.status().message();
    EXPECT_FALSE(lun->images().is_open(nvme_b)) << "image() opens nothing";
    EXPECT_EQ(lun->images().image(lun->images().count()).status().code(), -EINVAL);

    MigrationRecord record;
    EXPECT_FALSE(lun->migrator().migrate(1, nvme_b, record).is_ok());
    EXPECT_EQ(record.outcome.rfind("refused", 0), 0u) << record.outcome;
    EXPECT_FALSE(lun->map().find(1)) << "the extent stays at home";
    EXPECT_EQ(lun->gate().tier(1), 0);
    EXPECT_FALSE(lun->images().is_open(nvme_b));
    EXPECT_EQ(lun->read(0, kSize), data);
    // Its own tag back, so that the LUN's removal at the end takes the image with it.
    auto io = open_test_pool(lun->cluster(), "nvme-b");
    auto tier = ceph::Image::open(io, lun->images().lun().tier_image_name());
    ASSERT_TRUE(tier.is_ok());
    EXPECT_TRUE(tier->metadata_set(ceph::kTierImageTag, lun->images().lun().key()).is_ok());
}

// A commit whose reply was lost (an OSD op timeout) may have been applied: the map as stored then
// puts the extent in the copy this gateway still holds for a leftover. Before it discards what
// an intent names, the owner checks the map as stored, not only the one it holds: nothing the
// stored map points at is discarded, and the LUN read through that map keeps every byte.
TEST(ExtentMigrator, NeverDiscardsTheCopyTheStoredMapPointsAt) {
    constexpr std::uint64_t kSize = 4 * 4 * kMiB;
    const std::string name = unique_name("mig-stale");
    auto lun = TieredStorage::create("hdd-a", name, kSize);
    const auto data = pattern(kSize, 13);
    lun->write(0, data);
    const std::size_t nvme_a = *lun->images().index_of("nvme-a");
    const std::size_t nvme_b = *lun->images().index_of("nvme-b");
    const std::uint64_t extent_bytes = lun->extent_size();
    const char* extent2 = data.data() + 2 * extent_bytes;

    // A migration of extent 2 to nvme-b recorded its intent and copied; its commit was applied
    // on the OSD, but this gateway was told it failed (it holds the map as before the commit).
    ASSERT_TRUE(lun->map().set_intent(2, "nvme-b").is_ok());
    ASSERT_EQ(rbd_write(lun->tier_image(nvme_b).handle(), 2 * extent_bytes, extent_bytes, extent2),
              static_cast<ssize_t>(extent_bytes));
    {
        const std::string entry_key = "0000000000000002", intent_key = "intent.0000000000000002";
        const std::string entry =
            ceph::PlacementEntry{"nvme-b", 1, ceph::crc32c(extent2, extent_bytes)}.encode();
        const std::string intent = "copy=hdd-a";
        const char* keys[] = {entry_key.c_str(), intent_key.c_str()};
        const char* vals[] = {entry.data(), intent.data()};
        const size_t key_lens[] = {entry_key.size(), intent_key.size()};
        const size_t val_lens[] = {entry.size(), intent.size()};
        auto io = open_test_pool(lun->cluster(), "hdd-a");
        rados_write_op_t op = rados_create_write_op();
        rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 2);
        EXPECT_EQ(
            rados_write_op_operate(op, io.handle(), lun->map().object_name().c_str(), nullptr, 0),
            0);
        rados_release_write_op(op);
    }
    ASSERT_FALSE(lun->map().find(2)) << "the gateway holds the map as before the commit";

    MigrationRecord record;
    const ceph::Status moved = lun->migrator().migrate(2, nvme_a, record);
    EXPECT_FALSE(moved.is_ok()) << "moved from a map older than the one stored";
    EXPECT_EQ(allocated_extents(*lun, nvme_b, kSize), std::vector<std::uint64_t>{2})
        << "discarded the copy the stored map points at";
    auto owner = lun->migrator().sync_routing();
    ASSERT_TRUE(owner.is_ok()) << owner.message();
    ASSERT_TRUE(lun->map().find(2));
    EXPECT_EQ(lun->map().find(2)->pool, "nvme-b");
    EXPECT_TRUE(lun->read(0, kSize) == data) << "the LUN does not read as written";
}

// A LUN of four extents in hdd-a, written with pattern(`seed`), and what it must read.
struct WrittenLun {
    std::string name;
    std::unique_ptr<TieredStorage> lun;
    std::vector<char> shadow;
};
WrittenLun written_lun(const std::string& prefix, std::uint32_t seed) {
    constexpr std::uint64_t kSize = 4 * 4 * kMiB;
    WrittenLun w{unique_name(prefix), nullptr, pattern(kSize, seed)};
    w.lun = TieredStorage::create("hdd-a", w.name, kSize);
    w.lun->write(0, w.shadow);
    return w;
}

// Migrates `extent` to `to` with its commit's reply lost: the commit applies, then `meanwhile`
// runs and the migrator is told -ETIMEDOUT.
ceph::Status migrate_losing_commit_reply(TieredStorage& lun, std::uint64_t extent, std::size_t to,
                                         MigrationRecord& record,
                                         const std::function<void()>& meanwhile = {}) {
    int replies_lost = 0;
    lun.map().set_commit_reply_hook([&](int rc) {
        if (rc < 0 || replies_lost > 0) return rc;
        ++replies_lost;
        if (meanwhile) meanwhile();
        return -ETIMEDOUT;
    });
    const ceph::Status moved = lun.migrator().migrate(extent, to, record);
    lun.map().set_commit_reply_hook({});
    EXPECT_EQ(replies_lost, 1) << record.outcome;
    return moved;
}

// A commit the OSD applied but whose reply this gateway never had (an OSD op timeout): the map as
// stored points the extent at its new copy. The migrator routes the extent where the stored map
// says before it lets I/O to it go on, so a write made after the migration is where the next
// owner reads it: every byte of the LUN, read through a map it loaded itself, is as written.
TEST(ExtentMigrator, ACommitWhoseReplyWasLostRoutesTheExtentAsTheStoredMapSays) {
    auto [name, lun, shadow] = written_lun("mig-unknown", 17);
    const std::uint64_t kSize = shadow.size();
    const std::size_t nvme_a = *lun->images().index_of("nvme-a");
    const std::uint64_t extent_bytes = lun->extent_size();

    MigrationRecord record;
    const ceph::Status moved = migrate_losing_commit_reply(*lun, 2, nvme_a, record);
    std::cout << "migration whose commit reply was lost: " << record.outcome << "\n";

    // Written after the migration, through the gate, then read by this gateway and by a new owner.
    const auto later = pattern(extent_bytes, 18);
    lun->write(2 * extent_bytes, later);
    std::copy(later.begin(), later.end(), shadow.begin() + 2 * extent_bytes);
    EXPECT_TRUE(lun->read(0, kSize) == shadow) << "this gateway does not read the LUN as written";
    auto next = TieredStorage::open("hdd-a", name, kSize);
    next->remove_all_on_exit(false);
    const auto stored = next->map().find(2);
    ASSERT_TRUE(stored) << "the commit applied: the stored map puts extent 2 away from home";
    EXPECT_EQ(stored->pool, "nvme-a");
    EXPECT_EQ(lun->images().pool(lun->gate().tier(2)), stored->pool)
        << "the extent is served from a tier the stored map does not put it in";
    const auto seen = next->read(0, kSize);
    std::uint64_t differ = 0;
    for (std::uint64_t i = 0; i < kSize; ++i) differ += seen[i] != shadow[i];
    EXPECT_EQ(differ, 0u) << "bytes the next owner reads otherwise than written ("
                          << moved.message() << ")";
}

// The same lost reply, while the map cannot be read (a bad key stored behind the gateway's back):
// the migrator cannot learn where the extent is, so it keeps it held and the gate refuses its I/O
// rather than serving a guess; once the map reads again, a reload routes it as stored.
TEST(ExtentMigrator, AnExtentWhoseCommitOutcomeCannotBeLearntIsRefusedUntilTheMapReloads) {
    auto [name, lun, shadow] = written_lun("mig-unknowable", 19);
    const std::uint64_t kSize = shadow.size();
    const std::size_t nvme_b = *lun->images().index_of("nvme-b");
    const std::uint64_t extent_bytes = lun->extent_size();
    auto io = open_test_pool(lun->cluster(), "hdd-a");
    const std::string oid = lun->map().object_name();
    const auto set_bad_key = [&](bool present) {
        const char* keys[] = {"bad-key"};
        const size_t key_lens[] = {7};
        const char* vals[] = {"x"};
        const size_t val_lens[] = {1};
        rados_write_op_t op = rados_create_write_op();
        if (present) {
            rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
        } else {
            rados_write_op_omap_rm_keys2(op, keys, key_lens, 1);
        }
        EXPECT_EQ(rados_write_op_operate(op, io.handle(), oid.c_str(), nullptr, 0), 0);
        rados_release_write_op(op);
    };

    MigrationRecord record;
    const ceph::Status moved =
        migrate_losing_commit_reply(*lun, 1, nvme_b, record, [&] { set_bad_key(true); });
    std::cout << "migration whose commit's outcome cannot be learnt: " << record.outcome << "\n";
    EXPECT_FALSE(moved.is_ok());
    EXPECT_TRUE(lun->gate().refused(1)) << "extent 1 is served from a guess";
    EXPECT_THROW(lun->read(extent_bytes, extent_bytes), std::runtime_error);
    EXPECT_TRUE(
        lun->read(2 * extent_bytes, extent_bytes) ==
        std::vector<char>(shadow.begin() + 2 * extent_bytes, shadow.begin() + 3 * extent_bytes))
        << "only the extent whose place is not known is refused";
    MigrationRecord again;
    EXPECT_FALSE(lun->migrator().migrate(1, 0, again).is_ok())
        << "moved while its place is unknown";

    set_bad_key(false);
    const ceph::Status synced = lun->migrator().sync_routing();
    ASSERT_TRUE(synced.is_ok()) << synced.message();
    EXPECT_FALSE(lun->gate().refused(1));
    ASSERT_TRUE(lun->map().find(1));
    EXPECT_EQ(lun->map().find(1)->pool, "nvme-b");
    EXPECT_EQ(lun->gate().tier(1), nvme_b);
    const auto later = pattern(extent_bytes, 20);
    lun->write(extent_bytes, later);
    std::copy(later.begin(), later.end(), shadow.begin() + extent_bytes);
    auto next = TieredStorage::open("hdd-a", name, kSize);
    next->remove_all_on_exit(false);
    EXPECT_TRUE(next->read(0, kSize) == shadow)
        << "the next owner does not read the LUN as written";
}

// Writers and readers keep going while a migrator moves random extents between all four pools.
// Every read must match the shadow copy; at the end the data, re-read through a freshly loaded
// map, must match too, and scrub must find nothing out of place.
TEST(ExtentMigrator, NoByteLostOrStaleUnderConcurrentIo) {
    const std::uint64_t size = 32 * kMiB;  // 8 extents
    const char* env = std::getenv("RBDTIER_MIGRATION_SECONDS");
    const int seconds = env ? std::atoi(env) : 20;
    const std::string name = unique_name("mig2");
    auto lun = TieredStorage::create("hdd-a", name, size);
    std::vector<char> shadow = pattern(size, 2);
    lun->write(0, shadow);

    constexpr int kWriters = 2;
    std::mutex shadow_mutex;  // protects shadow; each writer owns extents e % kWriters == id
    std::atomic<bool> stop{false};
    std::atomic<long> mismatches{0}, ios{0};
    auto writer = [&](int id) {
        std::mt19937 rng(100 + id);
        while (!stop.load()) {
            std::uint64_t extent;
            do extent = rng() % lun->extents();
            while (extent % kWriters != static_cast<std::uint64_t>(id));
            const std::uint64_t off = extent * lun->extent_size() + (rng() % 1024) * 4096;
            const std::uint64_t len = 4096 * (1 + rng() % 8);
            const std::uint64_t end = std::min(off + len, (extent + 1) * lun->extent_size());
            if (rng() % 2) {
                auto data = pattern(end - off, rng());
                lun->write(off, data);
                std::lock_guard lock(shadow_mutex);
                std::copy(data.begin(), data.end(), shadow.begin() + off);
            } else {
                auto got = lun->read(off, end - off);
                std::lock_guard lock(shadow_mutex);
                if (!std::equal(got.begin(), got.end(), shadow.begin() + off)) mismatches++;
            }
            ios++;
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < kWriters; ++i) threads.emplace_back(writer, i);

    std::mt19937 rng(7);
    long moved = 0, recopied = 0, failed = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        const std::uint64_t extent = rng() % lun->extents();
        std::size_t to = rng() % lun->images().count();
        if (to == lun->gate().tier(extent)) to = (to + 1) % lun->images().count();
        MigrationRecord record;
        if (lun->migrator().migrate(extent, to, record).is_ok()) {
            ++moved;
            if (record.copies > 1) ++recopied;
        } else {
            ++failed;
        }
    }
    stop.store(true);
    for (auto& t : threads) t.join();
    std::printf("migrations %ld (re-copied %ld, failed %ld), foreground I/Os %ld\n", moved,
                recopied, failed, ios.load());
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_GT(moved, 10);
    EXPECT_EQ(failed, 0) << "the last copy is made with writes held: it cannot be overtaken";
    EXPECT_GT(ios.load(), 100);
    EXPECT_EQ(lun->read(0, size), shadow);

    ceph::ScrubReport report;
    ASSERT_TRUE(lun->migrator().scrub(report).is_ok());
    EXPECT_EQ(report.stray_removed, 0u);
    EXPECT_EQ(report.crc_mismatch, 0u);

    // A second gateway loading the map from RADOS sees the same bytes.
    lun->remove_all_on_exit(false);
    lun.reset();
    auto again = TieredStorage::open("hdd-a", name, size);
    EXPECT_EQ(again->read(0, size), shadow);
}

}  // namespace
}  // namespace rbdtier::test
