// handler_rbdtier.so registered as subtype "rbd" (rbdtier.conf: handler_subtype = rbd), a drop-in
// for upstream handler_rbd, loaded by the harness on the local cluster: a LUN opened with
// handler_rbd's cfgstring, as targetcli user:rbd and ceph-iscsi write it, serves I/O untiered;
// with rbdtier.tiers set on the image (`rbd image-meta set`, the real rbd CLI) the same
// cfgstring opens it tiered and a pin moves its extents; tiering options in the cfgstring and a
// bad rbdtier.tiers are refused with the reason; an open connects one RADOS client (counted by
// the monitor's global ids), check_config one of its own at its first check, kept for the next. Its
// own executable: the subtype is read once, when the handler registers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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

// The global id the monitor gives a new client now: every connect takes the same number of
// them, so the ids two probes get tell how many clients connected between them.
std::uint64_t probe_global_id() {
    ceph::ClusterOptions o;
    o.conf_path = ceph_conf();
    auto cluster = ceph::Cluster::connect(o);
    EXPECT_TRUE(cluster.is_ok()) << cluster.status().message();
    return cluster ? rados_get_instance_id(cluster->handle()) : 0;
}

// How many RADOS clients connected to the cluster while `action` ran (this process is the
// cluster's only client meanwhile).
std::uint64_t clients_connected_by(const std::function<void()>& action) {
    const std::uint64_t first = probe_global_id();
    const std::uint64_t per_client = probe_global_id() - first;
    const std::uint64_t before = probe_global_id();
    action();
    const std::uint64_t after = probe_global_id();
    EXPECT_GT(per_client, 0u);
    if (per_client == 0) return 0;
    EXPECT_EQ((after - before) % per_client, 0u) << "global ids " << before << " -> " << after;
    return (after - before) / per_client - 1;
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
    // The gateway as ceph-iscsi would run it: rbdtier.conf with handler_subtype = rbd, no
    // metrics, then `conf`; its log captured from registration on; the .so loaded by the harness
    // (registered as subtype rbd); dc_ the LUN of image_ with handler_rbd's cfgstring and ALUA
    // implicit failover.
    void start_gateway(const std::string& conf = "") {
        gw_.emplace("metrics_port = 0\nhandler_subtype = rbd\n" + conf);
        log_.emplace();
        harness_.emplace(HANDLER_SO);
        ASSERT_EQ(harness_->subtype(), "rbd");
        dc_ = harness::DeviceConfig{upstream_cfg(), kSize};
        dc_.implicit_failover = true;
    }
    bool logged(const std::string& part) const {
        const auto lines = log_->lines();
        return std::any_of(lines.begin(), lines.end(),
                           [&](const std::string& l) { return l.find(part) != std::string::npos; });
    }
    std::string all_lines() const {
        std::string out;
        for (const auto& l : log_->lines()) out += l + "\n";
        return out;
    }

    std::string image_;
    // Made by start_gateway(), in this order (the harness goes first, the conf last).
    std::optional<GatewayConf> gw_;
    std::optional<harness::LogCapture> log_;
    std::optional<harness::Harness> harness_;
    harness::DeviceConfig dc_;
};

TEST_F(RbdModeTest, UpstreamCfgstringServesUntiered) {
    ASSERT_NO_FATAL_FAILURE(start_gateway());
    EXPECT_TRUE(logged("registered as subtype rbd")) << all_lines();
    EXPECT_EQ(harness_->check_config(upstream_cfg()), std::nullopt);

    auto dev = harness_->open(dc_);
    std::vector<char> block(kExtent, 'r');
    for (std::uint64_t e = 0; e < kSize / kExtent; e += 3)
        ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
    std::vector<char> back(kExtent);
    for (std::uint64_t e = 0; e < kSize / kExtent; e += 3) {
        ASSERT_TRUE(dev->read(e * kExtent / 512, back.data(), back.size()).ok());
        EXPECT_EQ(back, block) << "extent " << e;
    }
    EXPECT_TRUE(logged("hdd-a/" + image_ + ": opened: " + std::to_string(kSize) +
                       " bytes, 4194304-byte objects, no tiers"))
        << all_lines();
    // Our gateway serves it: the admin socket lists the LUN.
    const json luns = cli_json("lun list", gw_->socket());
    EXPECT_NE(luns.dump().find("hdd-a/" + image_), std::string::npos) << luns.dump();
}

TEST_F(RbdModeTest, ImageMetadataTiersTheLun) {
    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    ASSERT_NO_FATAL_FAILURE(start_gateway("round_s = 0.25\n"));
    auto dev = harness_->open(dc_);
    EXPECT_TRUE(logged("tiers hdd-a (home), nvme-a")) << all_lines();

    std::vector<char> block(kExtent, 't');
    for (std::uint64_t e = 0; e < 4; ++e)
        ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
    const json pinned = cli_json("pin hdd-a/" + image_ + " 0-3 nvme-a", gw_->socket());
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
    ASSERT_NO_FATAL_FAILURE(start_gateway("round_s = 0.25\n"));
    std::vector<char> block(kExtent, 'n');
    {
        auto dev = harness_->open(dc_);
        for (std::uint64_t e = 0; e < 2; ++e)
            ASSERT_TRUE(dev->write(e * kExtent / 512, block.data(), block.size()).ok());
        const json pinned = cli_json("pin hdd-a/" + image_ + " 0-1 nvme-a", gw_->socket());
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
    EXPECT_THROW(harness_->open(dc_), std::runtime_error);
    EXPECT_TRUE(logged("2 extents in tier pools")) << all_lines();

    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    auto dev = harness_->open(dc_);
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
    ASSERT_NO_FATAL_FAILURE(start_gateway("tenant_pool = no-such-pool\n"));
    auto dev = harness_->open(dc_);
    EXPECT_TRUE(logged("tiers hdd-a (home), nvme-a; policy reactive")) << all_lines();
    EXPECT_TRUE(logged("pool no-such-pool does not exist")) << all_lines();
}

TEST_F(RbdModeTest, TieringOptionsAndBadImageTiersAreRefusedWithTheReason) {
    ASSERT_NO_FATAL_FAILURE(start_gateway());
    const auto why = harness_->check_config(upstream_cfg() + ";tiers=hdd-a+nvme-a");
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("rbd image-meta set hdd-a/" + image_ + " rbdtier.tiers"), std::string::npos)
        << *why;
    const auto unknown = harness_->check_config(upstream_cfg() + ";osd_op_timout=30");
    ASSERT_TRUE(unknown.has_value());
    EXPECT_NE(unknown->find("unknown option 'osd_op_timout'"), std::string::npos) << *unknown;

    // A bad rbdtier.tiers: the LUN is not served without its tiers (its data may be there).
    image_meta_set("rbdtier.tiers", "nvme-a+nvme-a");
    const auto bad = harness_->check_config(upstream_cfg());
    ASSERT_TRUE(bad.has_value());
    EXPECT_NE(bad->find("rbdtier.tiers='nvme-a+nvme-a'"), std::string::npos) << *bad;
    EXPECT_THROW(harness_->open(dc_), std::runtime_error);
}

// A LUN's open connects one RADOS client and reads the image's metadata through it (whether the
// LUN is tiered, and its settings); check_config connects one of its own at its first check and
// keeps it: later checks connect none.
TEST_F(RbdModeTest, OpeningALunConnectsOneRadosClient) {
    image_meta_set("rbdtier.tiers", "hdd-a+nvme-a");
    ASSERT_NO_FATAL_FAILURE(start_gateway());
    // The first check of the process (this one, or an earlier test's) connected the client.
    ASSERT_EQ(harness_->check_config(upstream_cfg()), std::nullopt);
    std::optional<std::string> refused = "not checked";
    EXPECT_EQ(clients_connected_by([&] { refused = harness_->check_config(upstream_cfg()); }), 0u)
        << "check_config";
    EXPECT_EQ(refused, std::nullopt);
    std::unique_ptr<harness::Device> dev;
    // The harness calls check_config (through the kept client), then open.
    EXPECT_EQ(clients_connected_by([&] { dev = harness_->open(dc_); }), 1u) << "check and open";
    EXPECT_TRUE(logged("tiers hdd-a (home), nvme-a")) << all_lines();
    std::vector<char> block(4096, 'c'), back(4096);
    ASSERT_TRUE(dev->write(0, block.data(), block.size()).ok());
    ASSERT_TRUE(dev->read(0, back.data(), back.size()).ok());
    EXPECT_EQ(back, block);
    dev.reset();

    // An untiered LUN too: its open reads the metadata (no rbdtier.tiers) and checks the map.
    const CliRun removed = run_command("rbd -c " + ceph_conf() + " image-meta remove hdd-a/" +
                                       image_ + " rbdtier.tiers");
    ASSERT_EQ(removed.code, 0) << removed.out;
    EXPECT_EQ(clients_connected_by([&] { dev = harness_->open(dc_); }), 1u) << "check and open";
    ASSERT_TRUE(dev->read(0, back.data(), back.size()).ok());
    EXPECT_EQ(back, block);
}

}  // namespace
}  // namespace rbdtier
