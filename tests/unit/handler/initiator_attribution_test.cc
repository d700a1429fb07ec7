// InitiatorAttribution against a directory tree laid out like the kernel target's configfs (a
// temporary directory: backstore, fabric LUNs linking to it, ACLs mapping those, per-initiator
// counters); InitiatorActivity's per-initiator extents; backstore_of_uio's parsing of the UIO
// device name.
#include "handler/initiator_attribution.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "tests/support/temp_dir.h"

namespace rbdtier {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTpg = "iscsi/iqn.2003-01.org.example:target/tpgt_1";
constexpr const char* kA = "iqn.2003-01.org.example:a";
constexpr const char* kB = "iqn.2003-01.org.example:b";

// A configfs-like target root in a temporary directory, removed at the end.
class FakeConfigfs {
public:
    FakeConfigfs() : root_(dir_.root()) {
        fs::create_directories(root_ / "core/user_1/lun0");
        fs::create_directories(root_ / kTpg / "acls");
    }
    std::string root() const { return root_.string(); }

    // Fabric LUN lun_M of the TPG, linking to backstore `name`.
    void export_lun(int m, const std::string& backstore = "core/user_1/lun0") {
        const fs::path lun = root_ / kTpg / ("lun/lun_" + std::to_string(m));
        fs::create_directories(lun);
        fs::create_directory_symlink(fs::relative(root_ / backstore, lun), lun / "a1b2c3d4e5");
    }
    // ACL `initiator` mapping fabric LUN lun_M as its lun_K, with zeroed counters.
    void map(const std::string& initiator, int k, int m) {
        const fs::path mapped = acl_lun(initiator, k);
        fs::create_directories(mapped / "statistics/scsi_auth_intr");
        const fs::path lun = root_ / kTpg / ("lun/lun_" + std::to_string(m));
        fs::create_directory_symlink(fs::relative(lun, mapped), mapped / "f00dfeed01");
        set(initiator, k, 0, 0, 0);
    }
    void set(const std::string& initiator, int k, std::uint64_t cmds, std::uint64_t read_mib,
             std::uint64_t write_mib) {
        write(initiator, k, "num_cmds", std::to_string(cmds) + "\n");
        write(initiator, k, "read_mbytes", std::to_string(read_mib) + "\n");
        write(initiator, k, "write_mbytes", std::to_string(write_mib) + "\n");
    }
    void write(const std::string& initiator, int k, const std::string& file,
               const std::string& text) {
        std::ofstream(acl_lun(initiator, k) / "statistics/scsi_auth_intr" / file) << text;
    }
    void remove(const std::string& initiator, int k, const std::string& file) {
        fs::remove(acl_lun(initiator, k) / "statistics/scsi_auth_intr" / file);
    }

private:
    fs::path acl_lun(const std::string& initiator, int k) const {
        return root_ / kTpg / "acls" / initiator / ("lun_" + std::to_string(k));
    }
    testing::TempDir dir_;
    fs::path root_;
};

// How many of `n` commands next() gives each initiator.
std::map<std::uint32_t, int> draw(InitiatorAttribution& a, int n) {
    std::map<std::uint32_t, int> out;
    for (int i = 0; i < n; ++i) ++out[a.next()];
    return out;
}

TEST(InitiatorAttribution, OneInitiatorMovingGetsEveryCommand) {
    FakeConfigfs cfs;
    cfs.export_lun(0);
    cfs.map(kA, 0, 0);
    cfs.map(kB, 0, 0);
    InitiatorNames names;
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", &names, "pool/image");
    a.sample();  // baselines
    EXPECT_EQ(a.next(), 0u);
    EXPECT_EQ(a.report().kind, AttributionKind::kShared);
    cfs.set(kA, 0, 120, 3, 1);
    a.sample();
    const auto counts = draw(a, 1000);
    EXPECT_EQ(counts, (std::map<std::uint32_t, int>{{name_id(kA), 1000}}));
    const AttributionReport r = a.report();
    EXPECT_EQ(r.kind, AttributionKind::kExact);
    ASSERT_EQ(r.initiators.size(), 2u);
    EXPECT_EQ(names.name_of(name_id(kA)), kA);
    EXPECT_EQ(names.name_of(name_id(kB)), kB);
    // Idle afterwards: the attribution stays with the last initiator seen.
    a.sample();
    EXPECT_EQ(a.next(), name_id(kA));
    // Then only B moves: B's.
    cfs.set(kB, 0, 7, 0, 0);
    a.sample();
    EXPECT_EQ(a.next(), name_id(kB));
    EXPECT_EQ(a.report().kind, AttributionKind::kExact);
}

TEST(InitiatorAttribution, SeveralMovingShareInProportionToTheirCommands) {
    FakeConfigfs cfs;
    cfs.export_lun(0);
    cfs.map(kA, 0, 0);
    cfs.map(kB, 3, 0);  // B sees the LUN as its LUN 3
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", nullptr, "pool/image");
    a.sample();
    cfs.set(kA, 0, 300, 1, 0);
    cfs.set(kB, 3, 100, 0, 1);
    a.sample();
    const auto counts = draw(a, 4000);
    EXPECT_EQ(a.report().kind, AttributionKind::kApportioned);
    ASSERT_EQ(counts.size(), 2u);
    EXPECT_NEAR(counts.at(name_id(kA)), 3000, 10);
    EXPECT_NEAR(counts.at(name_id(kB)), 1000, 10);
    // Even a short run follows the shares.
    const auto few = draw(a, 8);
    EXPECT_NEAR(few.at(name_id(kA)), 6, 1);
}

TEST(InitiatorAttribution, SharedWhenNothingIsKnown) {
    {
        // No configfs at all.
        InitiatorAttribution a("/nonexistent/rbdtier/configfs", "core/user_1/lun0", nullptr, "p/i");
        a.sample();
        EXPECT_EQ(a.next(), 0u);
        EXPECT_NE(a.report().problem.find("no backstore"), std::string::npos);
    }
    FakeConfigfs cfs;
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", nullptr, "p/i");
    a.sample();  // not exported
    EXPECT_NE(a.report().problem.find("no fabric LUN"), std::string::npos);
    cfs.export_lun(0);
    a.sample();  // exported, no ACL: demo mode
    EXPECT_EQ(a.next(), 0u);
    EXPECT_NE(a.report().problem.find("no ACL"), std::string::npos);
    // An ACL of another backstore's LUN does not count.
    fs::create_directories(fs::path(cfs.root()) / "core/user_1/other");
    cfs.export_lun(1, "core/user_1/other");
    cfs.map(kA, 0, 1);
    a.sample();
    cfs.set(kA, 0, 50, 1, 1);
    a.sample();
    EXPECT_EQ(a.next(), 0u);
    EXPECT_EQ(a.report().kind, AttributionKind::kShared);
}

TEST(InitiatorAttribution, MissingOrGarbageCountersFallBackToSharedLoggedOnce) {
    log::CaptureSink sink;
    log::Binding binding(sink, log::Level::kDebug);
    FakeConfigfs cfs;
    cfs.export_lun(0);
    cfs.map(kA, 0, 0);
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", nullptr, "pool/image");
    a.sample();
    cfs.set(kA, 0, 10, 0, 0);
    a.sample();
    EXPECT_EQ(a.next(), name_id(kA));

    for (const char* garbage : {"12x\n", "", "-5\n", "99999999999999999999999\n", "\x01\xff"}) {
        SCOPED_TRACE(garbage);
        cfs.write(kA, 0, "num_cmds", garbage);
        a.sample();
        a.sample();
        EXPECT_EQ(a.next(), 0u);
        EXPECT_EQ(a.report().kind, AttributionKind::kShared);
        EXPECT_NE(a.report().problem.find("not a counter"), std::string::npos);
    }
    // One warning per distinct problem, not one per sample.
    EXPECT_EQ(sink.find(log::Level::kWarning, "pool/image", "num_cmds").size(), 5u);

    cfs.set(kA, 0, 10, 0, 0);
    cfs.remove(kA, 0, "write_mbytes");
    a.sample();
    a.sample();
    EXPECT_EQ(a.next(), 0u);
    EXPECT_NE(a.report().problem.find("cannot read"), std::string::npos);
    EXPECT_EQ(sink.find(log::Level::kWarning, "pool/image", "write_mbytes").size(), 1u);

    // Readable again: logged, and attribution resumes from a fresh movement.
    cfs.set(kA, 0, 20, 0, 0);
    a.sample();
    EXPECT_EQ(sink.find(log::Level::kInfo, "pool/image", "works again").size(), 1u);
    cfs.set(kA, 0, 25, 0, 0);
    a.sample();
    EXPECT_EQ(a.next(), name_id(kA));
}

TEST(InitiatorAttribution, CounterGoingBackwardsIsANewBaseline) {
    FakeConfigfs cfs;
    cfs.export_lun(0);
    cfs.map(kA, 0, 0);
    cfs.map(kB, 0, 0);
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", nullptr, "p/i");
    cfs.set(kA, 0, 1000, 5, 5);
    a.sample();
    cfs.set(kA, 0, 3, 0, 0);  // ACL recreated
    cfs.set(kB, 0, 4, 0, 0);
    a.sample();
    EXPECT_EQ(a.report().kind, AttributionKind::kExact);
    EXPECT_EQ(a.next(), name_id(kB));
}

TEST(InitiatorAttribution, SamplerThreadPublishesWithinADeadline) {
    FakeConfigfs cfs;
    cfs.export_lun(0);
    cfs.map(kA, 0, 0);
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", nullptr, "p/i");
    a.start(std::chrono::milliseconds(10));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (a.report().samples == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    cfs.set(kA, 0, 5, 0, 0);
    while (a.next() != name_id(kA) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    EXPECT_EQ(a.next(), name_id(kA));
    a.stop();
}

TEST(InitiatorAttribution, CommandsDuringSamplesGetOnlyPublishedInitiators) {
    FakeConfigfs cfs;
    cfs.export_lun(0);
    cfs.map(kA, 0, 0);
    cfs.map(kB, 0, 0);
    InitiatorAttribution a(cfs.root(), "core/user_1/lun0", nullptr, "p/i");
    a.sample();
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> io;
    for (int t = 0; t < 3; ++t)
        io.emplace_back([&] {
            while (!done.load()) {
                const std::uint32_t id = a.next();
                if (id != 0 && id != name_id(kA) && id != name_id(kB)) bad.fetch_add(1);
            }
        });
    // Alternate exact A, exact B and apportioned A+B while the I/O threads draw.
    std::uint64_t ca = 0, cb = 0;
    for (int i = 0; i < 60; ++i) {
        ca += (i % 3 != 1) ? 5 : 0;
        cb += (i % 3 != 0) ? 7 : 0;
        cfs.set(kA, 0, ca, 0, 0);
        cfs.set(kB, 0, cb, 0, 0);
        a.sample();
    }
    done.store(true);
    for (auto& t : io) t.join();
    EXPECT_EQ(bad.load(), 0);
}

TEST(BackstoreOfUio, ParsesTheKernelsUioName) {
    FakeConfigfs cfs;  // any temporary directory will do
    const fs::path uio = fs::path(cfs.root()) / "uio";
    fs::create_directories(uio / "uio0");
    fs::create_directories(uio / "uio1");
    std::ofstream(uio / "uio0/name") << "tcm-user/3/lun0/rbdtier/hdd-a/img;tiers=a+b\n";
    std::ofstream(uio / "uio1/name") << "something-else\n";
    EXPECT_EQ(backstore_of_uio(uio.string(), "uio0").backstore, "core/user_3/lun0");
    EXPECT_NE(backstore_of_uio(uio.string(), "uio1").error, "");
    EXPECT_NE(backstore_of_uio(uio.string(), "uio7").error, "");
    EXPECT_NE(backstore_of_uio(uio.string(), "../etc").error, "");
    EXPECT_NE(backstore_of_uio(uio.string(), "").error, "");
}

TEST(InitiatorActivity, KeepsEachInitiatorsExtents) {
    constexpr std::uint64_t kExtent = 4u << 20;
    InitiatorActivity activity(64u << 20, kExtent);
    activity.record(1, false, true, 0, 4096);
    activity.record(1, false, true, 3 * kExtent - 1, 2);  // extents 2 and 3
    activity.record(2, true, true, 10 * kExtent, kExtent);
    activity.record(0, false, false, 0, 0);  // a flush, shared
    const auto entries = activity.entries();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].initiator, 1u);
    EXPECT_EQ(entries[0].commands, 2u);
    EXPECT_EQ(entries[0].read_bytes, 4098u);
    EXPECT_EQ(entries[0].extents,
              (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0}, {2, 3}}));
    EXPECT_EQ(entries[1].write_bytes, kExtent);
    EXPECT_EQ(entries[1].extents, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{10, 10}}));
    EXPECT_TRUE(entries[2].extents.empty());
    // Past the bound, commands are only counted.
    for (std::uint32_t i = 100; i < 100 + InitiatorActivity::kMaxInitiators; ++i)
        activity.record(i, false, true, 0, 512);
    EXPECT_EQ(activity.entries().size(), InitiatorActivity::kMaxInitiators);
    EXPECT_EQ(activity.untracked_commands(), 3u);
    // Offsets beyond the LUN (after a resize) land in its last extent, never out of bounds.
    InitiatorActivity small(8u << 20, kExtent);
    small.record(5, true, true, 100u << 20, kExtent);
    EXPECT_EQ(small.entries()[0].extents,
              (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 1}}));
}

TEST(InitiatorActivity, AnInitiatorsCountersExistFromItsFirstCommand) {
    InitiatorActivity activity(100ull << 30, 4u << 20);
    EXPECT_EQ(activity.tracked_initiators(), 0u);
    EXPECT_TRUE(activity.entries().empty());
    activity.record(7, false, true, 0, 4096);
    activity.record(7, true, true, 0, 4096);
    EXPECT_EQ(activity.tracked_initiators(), 1u);
    activity.record(0, false, false, 0, 0);
    EXPECT_EQ(activity.tracked_initiators(), 2u);
}

TEST(InitiatorActivity, ConcurrentFirstCommandsGiveEachInitiatorOneEntry) {
    // Threads race to claim the same slots for the same and for different initiators.
    constexpr unsigned kThreads = 8, kPerThread = 2000, kInitiators = 5;
    InitiatorActivity activity(1ull << 30, 4u << 20);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
        threads.emplace_back([&activity, t] {
            for (unsigned i = 0; i < kPerThread; ++i)
                activity.record((t + i) % kInitiators + 1, false, true, 0, 512);
        });
    }
    for (auto& t : threads) t.join();
    const auto entries = activity.entries();
    ASSERT_EQ(entries.size(), kInitiators);
    std::map<std::uint32_t, std::uint64_t> commands;
    for (const auto& e : entries) commands[e.initiator] += e.commands;
    EXPECT_EQ(commands.size(), kInitiators);
    std::uint64_t total = 0;
    for (const auto& [initiator, n] : commands) total += n;
    EXPECT_EQ(total, std::uint64_t{kThreads} * kPerThread);
    EXPECT_EQ(activity.untracked_commands(), 0u);
}

}  // namespace
}  // namespace rbdtier
