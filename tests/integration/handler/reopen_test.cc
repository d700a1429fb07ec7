// A tiered LUN closed and opened again in the same gateway process (handler_rbdtier.so loaded
// the way tcmu-runner loads it), without ALUA: its sole gateway takes the RBD exclusive lock
// with the first write to the home image, in each open alike, and moves extents again. Nothing
// of the first open (its client's header watch, its lock, the rounds' ownership, the process's
// watch hub, rounds driver and migration budget) keeps the reopened LUN from migrating.
// A write to an extent already moved out goes to that tier's image, not the home image, so it
// does not take the LUN's lock: a reopened LUN that writes only such extents stays without the
// lock (and moves nothing) until a write reaches an extent at home.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "so_gateway.h"
#include "tests/harness/harness.h"

namespace rbdtier {
namespace {

using namespace so_test;

class ReopenedLun : public ClusterTest {};

TEST_F(ReopenedLun, WithoutAluaMovesExtentsAfterEachOpen) {
    if (!set_up()) return;
    constexpr std::uint64_t kExtents = 4;
    constexpr std::uint64_t kSize = kExtents * kExtent;
    constexpr int kOpens = 3;
    GatewayConf gw("metrics_port = 0\n");
    TestImage image("hdd-a", "reopen", kSize);
    const std::string lun = "hdd-a/" + image.name();
    harness::Harness h(HANDLER_SO);
    for (int open = 0; open < kOpens; ++open) {
        // Each open writes an extent still at home (the home image takes the lock) and pins it
        // out: it moves only if this gateway, the LUN's only one, holds the LUN's lock.
        const std::uint64_t extent = static_cast<std::uint64_t>(open);
        harness::DeviceConfig dc{lun + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-a;policy=none",
                                 kSize};
        dc.implicit_failover = false;  // no ALUA: librbd takes the lock with the first write
        auto dev = h.open(dc);
        ASSERT_TRUE(dev);
        std::vector<char> block(4096, static_cast<char>('a' + open));
        ASSERT_TRUE(dev->write(extent * kExtent / 512, block.data(), block.size()).ok());
        (void)cli_json("pin " + lun + " " + std::to_string(extent) + " nvme-a", gw.socket());
        EXPECT_TRUE(wait_for(
            [&] {
                const auto map = rados_map(*cluster_, image.name());
                const auto it = map.find(extent);
                return it != map.end() && it->second.pool == "nvme-a";
            },
            std::chrono::seconds(40)))
            << "open " << open + 1 << ": extent " << extent
            << " did not move to nvme-a; LUN: " << cli_json("lun show " + lun, gw.socket()).dump();
        std::vector<char> got(4096);
        ASSERT_TRUE(dev->read(extent * kExtent / 512, got.data(), got.size()).ok());
        EXPECT_EQ(got, block) << "open " << open + 1 << " extent " << extent;
    }
    EXPECT_TRUE(image.remove().is_ok());
}

TEST_F(ReopenedLun, WithoutAluaTakesTheLockWithTheFirstWriteToAHomeExtent) {
    if (!set_up()) return;
    constexpr std::uint64_t kSize = 4 * kExtent;
    GatewayConf gw("metrics_port = 0\n");
    TestImage image("hdd-a", "reopen-home", kSize);
    const std::string lun = "hdd-a/" + image.name();
    const std::string cfg = lun + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-a;policy=none";
    harness::Harness h(HANDLER_SO);
    auto extent_in = [&](std::uint64_t extent, const std::string& pool) {
        const auto map = rados_map(*cluster_, image.name());
        const auto it = map.find(extent);
        return pool == "hdd-a" ? it == map.end() : it != map.end() && it->second.pool == pool;
    };
    std::vector<char> block(4096, 'm');
    {
        auto dev = h.open({cfg, kSize});
        ASSERT_TRUE(dev->write(0, block.data(), block.size()).ok());
        (void)cli_json("pin " + lun + " 0 nvme-a", gw.socket());
        ASSERT_TRUE(wait_for([&] { return extent_in(0, "nvme-a"); }, std::chrono::seconds(40)))
            << "extent 0 did not move to nvme-a; LUN: "
            << cli_json("lun show " + lun, gw.socket()).dump();
    }
    auto dev = h.open({cfg, kSize});
    // Extent 0 lives in nvme-a's image now: this write does not touch the home image.
    ASSERT_TRUE(dev->write(0, block.data(), block.size()).ok());
    std::printf("reopened, written only in nvme-a: lock_owner %s\n",
                cli_json("lun show " + lun, gw.socket())
                    .value("lock_owner", nlohmann::json())
                    .dump()
                    .c_str());
    (void)cli_json("pin " + lun + " 0 hdd-a", gw.socket());
    // Extent 1 is at home: librbd takes the LUN's lock with this write, and the pin is carried out.
    ASSERT_TRUE(dev->write(kExtent / 512, block.data(), block.size()).ok());
    EXPECT_TRUE(wait_for([&] { return extent_in(0, "hdd-a"); }, std::chrono::seconds(40)))
        << "extent 0 did not move home after a write to a home extent; LUN: "
        << cli_json("lun show " + lun, gw.socket()).dump();
    EXPECT_EQ(cli_json("lun show " + lun, gw.socket()).value("lock_owner", nlohmann::json()),
              nlohmann::json(true));
    std::vector<char> got(4096);
    ASSERT_TRUE(dev->read(0, got.data(), got.size()).ok());
    EXPECT_EQ(got, block);
    dev.reset();
    EXPECT_TRUE(image.remove().is_ok());
}

}  // namespace
}  // namespace rbdtier
