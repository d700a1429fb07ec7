// Two gateways of one LUN, as the two-gateway multipath recipe sets them up (README,
// "Two gateways, one LUN: multipath"), on the local cluster: handler_rbdtier.so loaded by the
// harness with two devices of one image, each with the recipe's ALUA target port groups (ids 1
// and 2, explicit failover) and its own port in its own group. What the initiator's multipath
// sees through REPORT TARGET PORT GROUPS comes from the handler's lock tag: both gateways report
// the same owner group active/optimized and the other standby; the standby path is fenced; a SET
// TARGET PORT GROUPS on the other gateway moves the exclusive lock (and the tiering) there, and
// the old owner, blocklisted, writes nothing; with implicit failover (ceph-iscsi's default) the
// first command on the other path moves the lock. A shadow model of the LUN checks every byte
// written through either gateway reads back through the other (the seed is printed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "ceph/tiered_lun_store.h"
#include "so_gateway.h"
#include "tests/harness/harness.h"
#include "tests/support/seed.h"

namespace rbdtier {
namespace harness {
void PrintTo(const PortGroupState& g, std::ostream* out) {
    *out << "{group " << g.id << ", state " << int(g.state) << "}";
}
}  // namespace harness
namespace {

using namespace so_test;
using harness::kAluaActiveOptimized;
using harness::kAluaStandby;
using harness::PortGroupState;

constexpr std::uint64_t kSize = 8 * kExtent;
constexpr std::uint32_t kBlock = 512;
constexpr std::uint16_t kGroupA = 1;  // gateway A's target port group (its TPG tag)
constexpr std::uint16_t kGroupB = 2;

class TwoGatewayLun : public ClusterTest {
protected:
    void SetUp() override {
        ClusterTest::SetUp();
        if (!set_up()) return;
        image_ = "mpath-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name();
        ASSERT_TRUE(ceph::create_image(*hdd_a_, image_, kSize).is_ok());
        gw_.emplace("metrics_port = 0\n");
        harness_.emplace(HANDLER_SO);
        shadow_.assign(kSize, 0);
        rng_.seed(test_support::test_seed());
    }
    void TearDown() override {
        a_.reset();
        b_.reset();
        harness_.reset();
        if (!cluster_ || image_.empty()) return;
        (void)ceph::remove_tiered_lun_store(*cluster_, "hdd-a", "", image_, {"nvme-a"});
        (void)ceph::remove_image(*hdd_a_, image_);
    }

    // The tiered LUN of image_, as both gateways open it.
    harness::DeviceConfig lun_config() const {
        return {"hdd-a/" + image_ + ";conf=" + ceph_conf() + ";tiers=hdd-a+nvme-a;policy=reactive",
                kSize};
    }
    // The gateway whose enabled port is in `local`, with the recipe's groups (explicit failover).
    std::unique_ptr<harness::Device> open_gateway(std::uint16_t local) {
        harness::DeviceConfig dc = lun_config();
        dc.explicit_alua = harness::DeviceConfig::AluaGroups{{kGroupA, kGroupB}, local};
        return harness_->open(dc);
    }

    static std::vector<PortGroupState> owned_by(std::uint16_t owner) {
        return {{kGroupA, owner == kGroupA ? kAluaActiveOptimized : kAluaStandby},
                {kGroupB, owner == kGroupB ? kAluaActiveOptimized : kAluaStandby}};
    }
    static std::vector<PortGroupState> report(harness::Device& gw) {
        std::vector<PortGroupState> groups;
        EXPECT_EQ(gw.report_target_port_groups(&groups), TCMU_STS_OK);
        return groups;
    }

    // The initiator makes `gw`'s own group active/optimized; both gateways then report it so.
    void make_optimized(harness::Device& gw, std::uint16_t group) {
        ASSERT_EQ(gw.set_target_port_group(group, kAluaActiveOptimized), TCMU_STS_OK);
        EXPECT_EQ(report(*a_), owned_by(group));
        EXPECT_EQ(report(*b_), owned_by(group));
    }

    // Random writes (1 to 256 blocks each) through `gw`, recorded in the shadow model. With
    // `resend_first`, a failed first write is sent again once, as the initiator does when the
    // gateway's client was blocklisted by the other's taking the lock (nothing of it landed).
    void write_random(harness::Device& gw, int count, bool resend_first = false) {
        std::uniform_int_distribution<std::uint64_t> blocks(1, 256);
        for (int i = 0; i < count; ++i) {
            const std::uint64_t n = blocks(rng_);
            const std::uint64_t lba =
                std::uniform_int_distribution<std::uint64_t>(0, kSize / kBlock - n)(rng_);
            std::vector<std::uint8_t> data(n * kBlock);
            for (auto& byte : data) byte = static_cast<std::uint8_t>(rng_());
            harness::Result r = gw.write(lba, data.data(), data.size());
            if (!r.ok() && resend_first && i == 0) r = gw.write(lba, data.data(), data.size());
            ASSERT_TRUE(r.ok()) << "write " << i << " at lba " << lba << ": " << r.describe();
            std::memcpy(shadow_.data() + lba * kBlock, data.data(), data.size());
        }
    }
    // The whole LUN read through `gw` equals the shadow model, extent by extent.
    void expect_shadow(harness::Device& gw, const char* through) {
        std::vector<std::uint8_t> back(kExtent);
        for (std::uint64_t e = 0; e < kSize / kExtent; ++e) {
            const harness::Result r = gw.read(e * kExtent / kBlock, back.data(), back.size());
            ASSERT_TRUE(r.ok()) << through << ": extent " << e << ": " << r.describe();
            ASSERT_TRUE(std::equal(back.begin(), back.end(), shadow_.begin() + e * kExtent))
                << through << ": extent " << e << " differs from what was written";
        }
    }

    std::string image_;
    std::optional<GatewayConf> gw_;
    std::optional<harness::Harness> harness_;
    std::unique_ptr<harness::Device> a_, b_;
    std::vector<std::uint8_t> shadow_;
    std::mt19937_64 rng_;
};

TEST_F(TwoGatewayLun, OwnerIsOptimizedStandbyIsFencedAndFailoverMovesOwnershipByteExact) {
    if (!set_up()) return;
    a_ = open_gateway(kGroupA);
    b_ = open_gateway(kGroupB);

    // Both ports start in standby: nobody holds the lock, every data command is fenced.
    EXPECT_EQ(report(*a_), owned_by(TCMU_INVALID_LOCK_TAG));
    EXPECT_EQ(report(*b_), owned_by(TCMU_INVALID_LOCK_TAG));
    std::vector<std::uint8_t> block(kBlock, 0x5a);
    EXPECT_EQ(a_->write(0, block.data(), block.size()).tcmu_status, TCMU_STS_FENCED);

    ASSERT_NO_FATAL_FAILURE(make_optimized(*a_, kGroupA));
    EXPECT_EQ(b_->write(0, block.data(), block.size()).tcmu_status, TCMU_STS_FENCED);
    ASSERT_NO_FATAL_FAILURE(write_random(*a_, 150));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*a_, "A, the owner"));

    // A's path fails; the initiator makes B's group active/optimized.
    ASSERT_EQ(b_->set_target_port_group(kGroupB, kAluaActiveOptimized), TCMU_STS_OK);
    EXPECT_EQ(report(*b_), owned_by(kGroupB));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*b_, "B, after failover"));
    // A, not told yet, still counts itself the owner: its client is blocklisted, so its write
    // fails and changes nothing.
    std::vector<std::uint8_t> stale(kExtent, 0xee);
    EXPECT_FALSE(a_->write(0, stale.data(), stale.size()).ok());
    // Once A reports the groups (reopened with a new client), it sees B as the owner and fences.
    EXPECT_EQ(report(*a_), owned_by(kGroupB));
    EXPECT_EQ(a_->write(0, stale.data(), stale.size()).tcmu_status, TCMU_STS_FENCED);
    ASSERT_NO_FATAL_FAILURE(write_random(*b_, 150));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*b_, "B, the owner"));

    // Failback: A's path returns and is made active/optimized again.
    ASSERT_NO_FATAL_FAILURE(make_optimized(*a_, kGroupA));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*a_, "A, after failback"));
    ASSERT_NO_FATAL_FAILURE(write_random(*a_, 50));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*a_, "A, the owner again"));
}

// ceph-iscsi's default, implicit failover: the port groups' states are fixed in configfs (the
// owner's "ao" active/optimized, the other's "ano2" active/non-optimized) and the first command
// on the other path takes the lock there. Writes switch gateways back and forth; each gateway's
// first write after the other took the lock may fail (its client was blocklisted: nothing of it
// lands) and is sent again, as the initiator does; the other gateway reads every byte back.
TEST_F(TwoGatewayLun, ImplicitTransitionsBackAndForthByteExact) {
    if (!set_up()) return;
    harness::DeviceConfig dc = lun_config();
    dc.implicit_failover = true;
    a_ = harness_->open(dc);
    b_ = harness_->open(dc);
    harness::Device* gateways[] = {a_.get(), b_.get()};
    for (int round = 0; round < 6; ++round) {
        harness::Device& writer = *gateways[round % 2];
        harness::Device& reader = *gateways[(round + 1) % 2];
        SCOPED_TRACE("round " + std::to_string(round));
        ASSERT_NO_FATAL_FAILURE(write_random(writer, 40, /*resend_first=*/true));
        // The reader's first read may fail the same way; the check reads again.
        std::vector<std::uint8_t> probe(kBlock);
        if (!reader.read(0, probe.data(), probe.size()).ok()) {
            ASSERT_TRUE(reader.read(0, probe.data(), probe.size()).ok());
        }
        ASSERT_NO_FATAL_FAILURE(expect_shadow(reader, round % 2 ? "A" : "B"));
    }
}

TEST_F(TwoGatewayLun, OwnerClosedTheOtherTakesOverByteExact) {
    if (!set_up()) return;
    a_ = open_gateway(kGroupA);
    b_ = open_gateway(kGroupB);
    ASSERT_EQ(a_->set_target_port_group(kGroupA, kAluaActiveOptimized), TCMU_STS_OK);
    ASSERT_NO_FATAL_FAILURE(write_random(*a_, 150));

    a_.reset();  // gateway A stops (its LUN closed)
    EXPECT_EQ(report(*b_), owned_by(TCMU_INVALID_LOCK_TAG));
    ASSERT_EQ(b_->set_target_port_group(kGroupB, kAluaActiveOptimized), TCMU_STS_OK);
    EXPECT_EQ(report(*b_), owned_by(kGroupB));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*b_, "B, after A stopped"));
    ASSERT_NO_FATAL_FAILURE(write_random(*b_, 50));
    ASSERT_NO_FATAL_FAILURE(expect_shadow(*b_, "B, the owner"));
}

}  // namespace
}  // namespace rbdtier
