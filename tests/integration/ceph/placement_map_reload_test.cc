// PlacementMap::reload() against an unreachable OSD on the local cluster: the map object's OSD is
// frozen (`cluster.sh osd-stop --freeze`: TCP open, nothing answers), so a reload waits in its
// RADOS read until the client's op timeout (10 s) or the thaw. Meanwhile lookups (find(),
// entries(), header(): what the I/O path and the admin socket ask) answer from memory within a
// deadline. No timed sleeps: each step waits on a condition with a deadline. Changes made during
// a reload's read (landed from its test hook, deterministically) survive the reload.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <string>

#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

using namespace std::chrono_literals;

// hdd-b's OSD: the map of these tests lives there, and no other test of this binary uses it.
constexpr const char* kMapPool = "hdd-b";
constexpr int kMapOsd = 3;
constexpr auto kLookupDeadline = 2s;  // a lookup from memory takes microseconds

// Runs `cluster.sh VERB DIR OSD [extra]`; false (with the output) if it failed.
::testing::AssertionResult cluster_sh(const std::string& verb, int osd,
                                      const std::string& extra = {}) {
    const char* sh = std::getenv("RBDTIER_CLUSTER_SH");
    const char* dir = std::getenv("RBDTIER_CLUSTER_DIR");
    if (sh == nullptr || dir == nullptr) {
        return ::testing::AssertionFailure() << "RBDTIER_CLUSTER_SH/DIR not set: run under ctest";
    }
    const std::string cmd = std::string(sh) + " " + verb + " " + dir + " " + std::to_string(osd) +
                            (extra.empty() ? "" : " " + extra) + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return ::testing::AssertionFailure() << "cannot run " << cmd;
    std::string out;
    char buf[512];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (::pclose(p) != 0) return ::testing::AssertionFailure() << cmd << ": " << out;
    return ::testing::AssertionSuccess();
}

// The OSD frozen while this lives; thawed (and waited for) however the test ends.
class FrozenOsd {
public:
    explicit FrozenOsd(int osd) : osd_(osd) {
        frozen_ = cluster_sh("osd-stop", osd_, "--freeze");
        EXPECT_TRUE(frozen_);
    }
    ~FrozenOsd() { thaw(); }
    FrozenOsd(const FrozenOsd&) = delete;
    FrozenOsd& operator=(const FrozenOsd&) = delete;
    bool frozen() const { return frozen_; }
    void thaw() {
        if (frozen_) {
            EXPECT_TRUE(cluster_sh("osd-start", osd_));
        }
        frozen_ = false;
    }

private:
    int osd_;
    bool frozen_ = false;
};

class PlacementMapReload : public ::testing::Test {
protected:
    void SetUp() override {
        cluster_.emplace(connect_test_cluster());
        home_.emplace(open_test_pool(*cluster_, kMapPool));
        lun_ = ceph::LunIdentity{home_->pool_id(), "", unique_name("reload")};
        auto created = ceph::PlacementMap::create(open_test_pool(*cluster_, kMapPool), lun_,
                                                  {"nvme-a", "nvme-b"});
        ASSERT_TRUE(created) << created.status().message();
        map_.emplace(std::move(*created));
        ASSERT_TRUE(map_->acquire_fence().is_ok());
        ASSERT_TRUE(map_->commit(1, std::nullopt, ceph::PlacementEntry{"nvme-a", 0, 0x11}, kMapPool)
                        .is_ok());
    }
    void TearDown() override {
        map_.reset();
        if (home_) (void)ceph::PlacementMap::remove(*home_, lun_);
    }

    std::optional<ceph::Cluster> cluster_;
    std::optional<ceph::IoContext> home_;
    ceph::LunIdentity lun_;
    std::optional<ceph::PlacementMap> map_;
};

// A reload that waits on an unreachable OSD does not hold up the map's readers: while it is
// blocked, lookups on other threads answer within a deadline, with the map as it was.
TEST_F(PlacementMapReload, LookupsAnswerWhileReloadWaitsOnFrozenOsd) {
    std::promise<ceph::Status> reloaded;
    std::future<ceph::Status> reload_done = reloaded.get_future();
    std::atomic<bool> reload_started{false};
    std::future<void> reloader;
    std::future<bool> lookup;
    FrozenOsd frozen(kMapOsd);  // declared after the futures: thawed before they are waited for
    ASSERT_TRUE(frozen.frozen());

    reloader = std::async(std::launch::async, [&] {
        reload_started = true;
        reloaded.set_value(map_->reload());
    });
    const auto start_deadline = std::chrono::steady_clock::now() + 10s;
    while (!reload_started && std::chrono::steady_clock::now() < start_deadline)
        std::this_thread::yield();
    ASSERT_TRUE(reload_started);

    // Lookups for 2 s of the reload's wait (the OSD stays frozen: it cannot end sooner than
    // the client's 10 s op timeout), each on a thread of its own with a deadline.
    const auto window_end = std::chrono::steady_clock::now() + 2s;
    int lookups = 0;
    while (std::chrono::steady_clock::now() < window_end) {
        lookup = std::async(std::launch::async, [&] {
            const auto entry = map_->find(1);
            const auto all = map_->entries();
            const auto header = map_->header();
            return entry && entry->pool == "nvme-a" && all.size() == 1 && header.tiers.size() == 2;
        });
        ASSERT_EQ(lookup.wait_for(kLookupDeadline), std::future_status::ready)
            << "a lookup waited more than 2 s behind the reload's read of a frozen OSD (after "
            << lookups << " lookups)";
        EXPECT_TRUE(lookup.get()) << "the map changed while the reload was blocked";
        ++lookups;
    }
    EXPECT_EQ(reload_done.wait_for(0s), std::future_status::timeout)
        << "the reload was not blocked during the lookups: the test proved nothing";
    EXPECT_GT(lookups, 0);

    frozen.thaw();
    ASSERT_EQ(reload_done.wait_for(60s), std::future_status::ready);
    const ceph::Status s = reload_done.get();
    // Either the read timed out (the map kept as it was) or it succeeded after the thaw.
    if (!s) {
        EXPECT_EQ(s.code(), -ETIMEDOUT) << s.message();
    }
    EXPECT_EQ(map_->find(1)->pool, "nvme-a");
    ASSERT_TRUE(map_->reload().is_ok());
    EXPECT_EQ(map_->find(1)->pool, "nvme-a");
}

// A commit that lands while a reload reads (deterministically: from the reload's hook, between
// its read and its install) is not overwritten by the older snapshot: the reload reads again
// and installs a map that holds the commit.
TEST_F(PlacementMapReload, CommitDuringReloadReadIsKept) {
    int reads = 0;
    map_->set_reload_hook([&] {
        if (++reads == 1) {
            ASSERT_TRUE(
                map_->commit(2, std::nullopt, ceph::PlacementEntry{"nvme-b", 0, 0x22}, kMapPool)
                    .is_ok());
        }
    });
    ASSERT_TRUE(map_->reload().is_ok());
    EXPECT_EQ(reads, 2) << "the snapshot read before the commit was installed";
    const auto moved = map_->find(2);
    ASSERT_TRUE(moved) << "the commit made during the reload's read was lost";
    EXPECT_EQ(moved->pool, "nvme-b");
    EXPECT_EQ(moved->generation, 1u);
    EXPECT_EQ(map_->intents().at(2), kMapPool);
    EXPECT_EQ(map_->find(1)->pool, "nvme-a");

    // What the map holds is what RADOS holds: a fresh reader agrees, and a commit that expects
    // the entry the map shows applies.
    auto fresh = ceph::PlacementMap::open(open_test_pool(*cluster_, kMapPool), lun_);
    ASSERT_TRUE(fresh) << fresh.status().message();
    EXPECT_EQ(fresh->entries(), map_->entries());
    EXPECT_EQ(fresh->intents(), map_->intents());
    map_->set_reload_hook({});
    EXPECT_TRUE(map_->commit(2, moved, std::nullopt, "nvme-b").is_ok());
    EXPECT_FALSE(map_->find(2));
}

// Changes that land during every read: after kOptimisticReads reads the reload holds changes
// off for one read, which it installs, so it ends, and nothing committed is lost.
TEST_F(PlacementMapReload, ReloadEndsWhenEveryReadMeetsACommit) {
    int reads = 0;
    std::uint64_t next_extent = 10;
    map_->set_reload_hook([&] {
        ++reads;
        const std::uint64_t e = next_extent++;
        ASSERT_TRUE(map_->commit(e, std::nullopt, ceph::PlacementEntry{"nvme-a", 0, 0x33}, kMapPool)
                        .is_ok());
    });
    ASSERT_TRUE(map_->reload().is_ok());
    EXPECT_EQ(reads, ceph::PlacementMap::kOptimisticReads);
    for (std::uint64_t e = 10; e < next_extent; ++e)
        EXPECT_TRUE(map_->find(e)) << "commit of extent " << e << " lost";
    map_->set_reload_hook({});
    auto fresh = ceph::PlacementMap::open(open_test_pool(*cluster_, kMapPool), lun_);
    ASSERT_TRUE(fresh) << fresh.status().message();
    EXPECT_EQ(fresh->entries(), map_->entries());
}

}  // namespace
}  // namespace rbdtier::test
