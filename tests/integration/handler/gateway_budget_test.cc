// The gateway's migration budget goes where the work is (the real handler_rbdtier.so, loaded by
// the harness, on the local cluster): two tiered LUNs on one gateway, one busy (many extents the
// reactive policy wants in nvme-a), one idle. The busy LUN's migrations use nearly the whole
// gateway budget: over a window, the extents it moved are counted in its placement map in RADOS
// and compared with what the budget allows in that window. A budget divided statically between
// the LUNs would give it half (the idle LUN's share unused).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"

namespace rbdtier {
namespace {

using namespace so_test;
using namespace std::chrono_literals;

constexpr std::uint64_t kHot = 48;  // extents of the busy LUN read over and over
constexpr std::uint64_t kSize = kHot * kExtent;
constexpr double kBudgetExtentsPerS = 2;  // migration_bandwidth_mib_s = 8: two extents a second

class GatewayBudgetUse : public ClusterTest {
protected:
    void SetUp() override {
        ClusterTest::SetUp();
        if (!set_up()) return;
        const std::string tag = std::to_string(::getpid());
        for (std::string& name : images_) {
            name = "so-budget-" + std::to_string(names_++) + "-" + tag;
            ASSERT_TRUE(ceph::create_image(*hdd_a_, name, kSize).is_ok()) << name;
        }
    }
    void TearDown() override {
        if (!cluster_) return;
        for (const std::string& name : images_) {
            (void)ceph::remove_tiered_lun_store(*cluster_, "hdd-a", "", name, {"nvme-a"});
            (void)ceph::remove_image(*hdd_a_, name);
        }
    }
    std::string cfg(std::size_t i) const {
        return "hdd-a/" + images_[i] + ";conf=" + ceph_conf() +
               ";tiers=hdd-a+nvme-a;policy=reactive";
    }

    int names_ = 0;
    std::vector<std::string> images_ = {"", ""};  // busy, idle
};

TEST_F(GatewayBudgetUse, ABusyLunUsesTheBudgetAnIdleLunLeaves) {
    GatewayConf gw("metrics_port = 0\nround_s = 0.5\nmigration_bandwidth_mib_s = 8\n");
    harness::Harness h(HANDLER_SO);
    // Only the holder of a LUN's exclusive lock migrates: writes take it, as ALUA failover does.
    auto open = [&](const std::string& cfgstring) {
        harness::DeviceConfig dc{cfgstring, kSize};
        dc.implicit_failover = true;
        return h.open(dc);
    };
    auto busy = open(cfg(0));
    auto idle = open(cfg(1));
    ASSERT_TRUE(busy && idle);
    // Every hot extent holds data (a migration copies what is there).
    std::vector<char> block(4096, 'b');
    for (std::uint64_t e = 0; e < kHot; ++e)
        ASSERT_TRUE(busy->write(e * kExtent / 512, block.data(), block.size()).ok()) << e;

    // The busy LUN's hot set read over and over until the test ends.
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> failed{0};
    std::thread reader([&] {
        std::vector<char> back(4096);
        while (!stop.load()) {
            for (std::uint64_t e = 0; e < kHot && !stop.load(); ++e)
                if (!busy->read(e * kExtent / 512, back.data(), back.size()).ok()) ++failed;
        }
    });
    struct Join {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Join() {
            stop.store(true);
            t.join();
        }
    } join{stop, reader};

    auto moved = [&] { return rados_map(*cluster_, images_[0]).size(); };
    // The window opens once the rounds move the busy LUN's extents.
    ASSERT_TRUE(wait_for([&] { return moved() >= 1; }, 60s)) << "no extent moved";
    const std::uint64_t before = moved();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_until(t0 + 12s);  // the window: counted after, not timed
    const std::uint64_t after = moved();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double allowed = kBudgetExtentsPerS * seconds;  // K: the budget's extents in the window
    const auto in_window = static_cast<double>(after - before);
    std::printf("busy LUN moved %.0f extents in %.1f s; the gateway budget allows %.1f (%.0f%%)\n",
                in_window, seconds, allowed, 100 * in_window / allowed);
    EXPECT_EQ(failed.load(), 0u);
    EXPECT_LT(after, kHot) << "the hot set outlasts the window (else it measures the set)";
    // A static half share would give at most K/2 and its one second of burst.
    EXPECT_GE(in_window, 0.8 * allowed) << "the idle LUN's share went unused";
    // Never more than the budget: the window, one second of burst and the move in flight.
    EXPECT_LE(in_window, allowed + kBudgetExtentsPerS + 1);
    EXPECT_TRUE(rados_map(*cluster_, images_[1]).empty()) << "the idle LUN had nothing to move";
}

}  // namespace
}  // namespace rbdtier
