// handler_rbdtier.so registered as subtype "rbd" (rbdtier.conf: handler_subtype = rbd), a drop-in
// for upstream handler_rbd, loaded by the harness on the local cluster: a LUN opened with
// handler_rbd's cfgstring, as targetcli user:rbd and ceph-iscsi write it, serves I/O untiered;
// with rbdtier.tiers set on the image (`rbd image-meta set`, the real rbd CLI) the same
// cfgstring opens it tiered and a pin moves its extents; tiering options in the cfgstring and a
// bad rbdtier.tiers are refused with the reason. Its own executable: the subtype is read once,
// when the handler registers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"

namespace rbdtier {
namespace {

using nlohmann::json;
using namespace so_test;
using namespace std::chrono_literals;

constexpr std::uint64_t kSize = 8 * kExtent;

bool logged(const harness::LogCapture& log, const std::string& part) {
    const auto lines = log.lines();
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

std::string all_lines(const harness::LogCapture& log) {
    std::string out;
    for (const auto& l : log.lines()) out += l + "\n";
    return out;
}

class RbdModeTest : public ClusterTest {
protected:
    void SetUp() override {
        ClusterTest::SetUp();
        if (!set_up()) return;
        image_ = "rbd-mode-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name();
        ASSERT_TRUE(ceph::create_image(*hdd_a_, image_, kSize).is_ok());
    }
    void TearDown() override {
        if (!cluster_ || image_.empty()) return;
        (void)ceph::remove_tiered_lun_store(*cluster_, "hdd-a", "", image_, {"nvme-a"});
        (void)ceph::remove_image(*hdd_a_, image_);
    }
    // handler_rbd's cfgstring as ceph-iscsi writes it (the harness puts "rbd/" first).
    std::string upstream_cfg() const {
        return "hdd-a/" + image_ + ";osd_op_timeout=30;conf=" + ceph_conf();
    }
    // `rbd image-meta set hdd-a/IMAGE KEY VALUE` with the real rbd CLI.
    void image_meta_set(const std::string& key, const std::string& value) const {
        const CliRun r = run_command("rbd -c " + ceph_conf() + " image-meta set hdd-a/" + image_ +
                                     " " + key + " " + value);
        ASSERT_EQ(r.code, 0) << r.out;
    }
    std::string image_;
};

TEST_F(RbdModeTest, UpstreamCfgstringServesUntiered) {
    GatewayConf gw("metrics_port = 0\nhandler_subtype = rbd\n");
    harness::LogCapture log;
    harness::Harness h(HANDLER_SO);
    ASSERT_EQ(h.subtype(), "rbd");
    EXPECT_TRUE(logged(log, "registered as subtype rbd")) << all_lines(log);
    EXPECT_EQ(h.check_config(upstream_cfg()), std::nullopt);

    harness::DeviceConfig dc{upstream_cfg(), kSize};
    dc.implicit_failover = true;
    auto dev = h.open(dc);
    std::vector<char> block(kExtent, 'r');
    for (std::uint64_t e = 0; e < kSize / kExtent; e += 3)
        ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
    std::vector<char> back(kExtent);
    for (std::uint64_t e = 0; e < kSize / kExtent; e += 3) {
        ASSERT_TRUE(dev->read(e * kExtent / 512, back.data(), back.size()).ok());
        EXPECT_EQ(back, block) << "extent " << e;
    }
    EXPECT_TRUE(logged(log, "hdd-a/" + image_ + ": opened: " + std::to_string(kSize) +
                                " bytes, 4194304-byte objects, no tiers"))
        << all_lines(log);
    // Our gateway serves it: the admin socket lists the LUN.
    const json luns = cli_json("lun list", gw.socket());
    EXPECT_NE(luns.dump().find("hdd-a/" + image_), std::string::npos) << luns.dump();
}

TEST_F(RbdModeTest, ImageMetadataTiersTheLun) {
    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    GatewayConf gw("metrics_port = 0\nhandler_subtype = rbd\nround_s = 0.25\n");
    harness::LogCapture log;
    harness::Harness h(HANDLER_SO);
    ASSERT_EQ(h.subtype(), "rbd");
    harness::DeviceConfig dc{upstream_cfg(), kSize};
    dc.implicit_failover = true;
    auto dev = h.open(dc);
    EXPECT_TRUE(logged(log, "tiers hdd-a (home), nvme-a")) << all_lines(log);

    std::vector<char> block(kExtent, 't');
    for (std::uint64_t e = 0; e < 4; ++e)
        ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
    const json pinned = cli_json("pin hdd-a/" + image_ + " 0-3 nvme-a", gw.socket());
    EXPECT_EQ(pinned["count"], 4) << pinned.dump();
    ASSERT_TRUE(wait_for(
        [&] {
            const auto map = rados_map(*cluster_, image_);
            for (std::uint64_t e = 0; e < 4; ++e) {
                auto it = map.find(e);
                if (it == map.end() || it->second.pool != "nvme-a") return false;
            }
            return true;
        },
        30s))
        << "the extents of a LUN tiered by its image metadata never moved";
    std::vector<char> back(kExtent);
    for (std::uint64_t e = 0; e < 4; ++e) {
        ASSERT_TRUE(dev->read(e * kExtent / 512, back.data(), back.size()).ok());
        EXPECT_EQ(back, block) << "extent " << e;
    }
}

// A LUN some of whose extents live in tier images (its placement map says so) is refused when
// opened without its tiers, instead of being served from the home image, which holds stale data
// for those extents; with its tiers back it serves what was written.
TEST_F(RbdModeTest, ALunWithExtentsInTierImagesIsNotServedWithoutItsTiers) {
    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    GatewayConf gw("metrics_port = 0\nhandler_subtype = rbd\nround_s = 0.25\n");
    harness::LogCapture log;
    harness::Harness h(HANDLER_SO);
    ASSERT_EQ(h.subtype(), "rbd");
    harness::DeviceConfig dc{upstream_cfg(), kSize};
    dc.implicit_failover = true;
    std::vector<char> block(kExtent, 'n');
    {
        auto dev = h.open(dc);
        for (std::uint64_t e = 0; e < 2; ++e)
            ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
        const json pinned = cli_json("pin hdd-a/" + image_ + " 0-1 nvme-a", gw.socket());
        ASSERT_EQ(pinned["count"], 2) << pinned.dump();
        ASSERT_TRUE(wait_for(
            [&] {
                const auto map = rados_map(*cluster_, image_);
                return map.count(0) == 1 && map.count(1) == 1;
            },
            30s))
            << "the pinned extents never moved";
    }
    const CliRun removed = run_command("rbd -c " + ceph_conf() + " image-meta remove hdd-a/" +
                                       image_ + " rbdtier.tiers");
    ASSERT_EQ(removed.code, 0) << removed.out;
    EXPECT_THROW(h.open(dc), std::runtime_error);
    EXPECT_TRUE(logged(log, "2 extents in tier pools")) << all_lines(log);

    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    auto dev = h.open(dc);
    std::vector<char> back(kExtent);
    for (std::uint64_t e = 0; e < 2; ++e) {
        ASSERT_TRUE(dev->read(e * kExtent / 512, back.data(), back.size()).ok());
        EXPECT_EQ(back, block) << "extent " << e;
    }
}

// The per-LUN settings in the image's metadata apply even when the pool of the cluster-wide
// settings object does not exist (rbdtier.conf's tenant_pool = rbd, as shipped, on a cluster
// without an rbd pool): no pool holds no cluster-wide settings, and that is said in the log.
TEST_F(RbdModeTest, ImageMetadataAppliesWithoutTheClusterSettingsPool) {
    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    image_meta_set("rbdtier.policy", "reactive");
    GatewayConf gw("metrics_port = 0\nhandler_subtype = rbd\ntenant_pool = no-such-pool\n");
    harness::LogCapture log;
    harness::Harness h(HANDLER_SO);
    ASSERT_EQ(h.subtype(), "rbd");
    harness::DeviceConfig dc{upstream_cfg(), kSize};
    dc.implicit_failover = true;
    auto dev = h.open(dc);
    EXPECT_TRUE(logged(log, "tiers hdd-a (home), nvme-a; policy reactive")) << all_lines(log);
    EXPECT_TRUE(logged(log, "pool no-such-pool does not exist")) << all_lines(log);
}

TEST_F(RbdModeTest, TieringOptionsAndBadImageTiersAreRefusedWithTheReason) {
    GatewayConf gw("metrics_port = 0\nhandler_subtype = rbd\n");
    harness::LogCapture log;
    harness::Harness h(HANDLER_SO);
    ASSERT_EQ(h.subtype(), "rbd");
    const auto why = h.check_config(upstream_cfg() + ";tiers=hdd-a+nvme-a");
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("rbd image-meta set hdd-a/" + image_ + " rbdtier.tiers"), std::string::npos)
        << *why;
    const auto unknown = h.check_config(upstream_cfg() + ";osd_op_timout=30");
    ASSERT_TRUE(unknown.has_value());
    EXPECT_NE(unknown->find("unknown option 'osd_op_timout'"), std::string::npos) << *unknown;

    // A bad rbdtier.tiers: the LUN is not served without its tiers (its data may be there).
    image_meta_set("rbdtier.tiers", "nvme-a+nvme-a");
    const auto bad = h.check_config(upstream_cfg());
    ASSERT_TRUE(bad.has_value());
    EXPECT_NE(bad->find("rbdtier.tiers='nvme-a+nvme-a'"), std::string::npos) << *bad;
    harness::DeviceConfig dc{upstream_cfg(), kSize};
    EXPECT_THROW(h.open(dc), std::runtime_error);
}

}  // namespace
}  // namespace rbdtier
