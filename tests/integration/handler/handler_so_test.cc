// handler_rbdtier.so loaded and driven the way tcmu-runner 1.5.4 does it (tests/harness):
// registration, the functional battery (data byte-exact through the handler and librbd,
// UNMAP, WRITE SAME, COMPARE AND WRITE, range sense, ...), check_config/open refusals with
// the reason a person needs, and data written with librbd read back through the handler.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "tests/harness/battery.h"
#include "tests/harness/harness.h"

namespace rbdtier {
namespace {

std::string conf() {
    const char* c = std::getenv("RBDTIER_CEPH_CONF");
    return c != nullptr ? c : "";
}

class HandlerSo : public ::testing::Test {
protected:
    void SetUp() override {
        if (conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    }
};

TEST_F(HandlerSo, RegistersAsyncRbdtierWithEveryCallout) {
    harness::Harness h(HANDLER_SO);
    const tcmur_handler& t = h.handler();
    EXPECT_EQ(h.subtype(), "rbdtier");
    EXPECT_EQ(t.nr_threads, 0);
    ASSERT_NE(t.cfg_desc, nullptr);
    EXPECT_NE(std::strstr(t.cfg_desc, "policy="), nullptr);
    for (bool present :
         {t.check_config != nullptr, t.open != nullptr, t.close != nullptr, t.read != nullptr,
          t.write != nullptr, t.flush != nullptr, t.unmap != nullptr, t.writesame != nullptr,
          t.caw != nullptr, t.reconfig != nullptr, t.lock != nullptr, t.unlock != nullptr,
          t.get_lock_tag != nullptr, t.get_lock_state != nullptr}) {
        EXPECT_TRUE(present);
    }
}

TEST_F(HandlerSo, PassesTheFunctionalBattery) {
    for (const char* pool : {"nvme-a", "hdd-b"}) {
        harness::BatteryConfig bc;
        bc.handler_path = HANDLER_SO;
        bc.subtype = "rbdtier";
        bc.ceph_conf = conf();
        bc.pool = pool;
        std::ostringstream log;
        EXPECT_EQ(harness::run_battery(bc, log), 0) << pool << ":\n" << log.str();
    }
}

TEST_F(HandlerSo, CheckConfigGivesTheReason) {
    harness::Harness h(HANDLER_SO);
    const std::string c = ";conf=" + conf();
    EXPECT_EQ(h.check_config("nvme-a/img@snap" + c),
              "snapshot 'snap' of image 'img' given, but rbdtier LUNs are writable and cannot be "
              "backed by a snapshot: clone it (rbd clone) and use the clone");
    EXPECT_EQ(h.check_config("nvme-a" + c), "'nvme-a' names no pool: expected pool/image");
    EXPECT_EQ(h.check_config("nvme-a/x;colour=blue"),
              "unknown option 'colour' (known: osd_op_timeout, conf, id, tenant, tiers, policy, "
              "quota, horizon)");
    EXPECT_EQ(h.check_config("nvme-a/x;osd_op_timeout=soon"),
              "osd_op_timeout='soon' is not a whole number of seconds between 1 and 86400");
    EXPECT_EQ(h.check_config("no-such-pool/x" + c),
              "open pool no-such-pool: No such file or directory");
    EXPECT_EQ(h.check_config("nvme-a/no-such-image" + c),
              "open image nvme-a/no-such-image: No such file or directory");
    EXPECT_EQ(h.check_config("nvme-a/x;conf=/nonexistent.conf"),
              "read ceph config /nonexistent.conf: No such file or directory");

    // An existing image, with tiers: accepted; a missing tier pool: refused.
    ceph::ClusterOptions o;
    o.conf_path = conf();
    auto cluster = ceph::Cluster::connect(o);
    ASSERT_TRUE(cluster.is_ok()) << cluster.status().message();
    auto io = ceph::IoContext::open(*cluster, "nvme-a");
    ASSERT_TRUE(io.is_ok());
    const std::string name = "so-check-" + std::to_string(getpid());
    ASSERT_TRUE(ceph::create_image(*io, name, 8 << 20).is_ok());
    EXPECT_EQ(h.check_config("nvme-a/" + name + c + ";tiers=hdd-a,nvme-b;policy=predictive"),
              std::nullopt);
    EXPECT_EQ(h.check_config("nvme-a/" + name + c + ";tiers=hdd-a,ssd-z"),
              "tiers=: open pool ssd-z: No such file or directory");

    // open() refuses what check_config refuses, and a LUN larger than its image.
    EXPECT_THROW(h.open({"nvme-a/no-such-image" + c, 8 << 20}), std::runtime_error);
    EXPECT_THROW(h.open({"nvme-a/" + name + c, 16 << 20}), std::runtime_error);
    ASSERT_TRUE(ceph::remove_image(*io, name).is_ok());
}

TEST_F(HandlerSo, DataWrittenWithLibrbdReadsBackThroughTheHandler) {
    ceph::ClusterOptions o;
    o.conf_path = conf();
    auto cluster = ceph::Cluster::connect(o);
    ASSERT_TRUE(cluster.is_ok()) << cluster.status().message();
    auto io = ceph::IoContext::open(*cluster, "hdd-a");
    ASSERT_TRUE(io.is_ok());
    const std::string name = "so-rb-" + std::to_string(getpid());
    ASSERT_TRUE(ceph::create_image(*io, name, 8 << 20).is_ok());
    std::vector<char> data(3 * 4096 + 512);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
    {
        auto image = ceph::Image::open(*io, name);
        ASSERT_TRUE(image.is_ok());
        ASSERT_EQ(rbd_write(image->handle(), 5 * 4096, data.size(), data.data()),
                  static_cast<ssize_t>(data.size()));
    }
    {
        harness::Harness h(HANDLER_SO);
        auto dev = h.open({"hdd-a/" + name + ";conf=" + conf(), 8 << 20});
        std::vector<char> back(data.size());
        // As four iovecs of uneven sizes.
        std::vector<iovec> iov{{back.data(), 100},
                               {back.data() + 100, 4000},
                               {back.data() + 4100, 1},
                               {back.data() + 4101, back.size() - 4101}};
        harness::Result r = dev->readv(5 * 4096 / 512, iov);
        ASSERT_TRUE(r.ok()) << r.describe();
        EXPECT_EQ(back, data);
        harness::Result past = dev->read((8 << 20) / 512, back.data(), 512);
        EXPECT_FALSE(past.ok());
        EXPECT_EQ(past.sense_view().key(), 0x5) << past.describe();   // ILLEGAL REQUEST
        EXPECT_EQ(past.sense_view().asc(), 0x21) << past.describe();  // LBA out of range
    }
    ASSERT_TRUE(ceph::remove_image(*io, name).is_ok());
}

TEST_F(HandlerSo, ReconfigGrowsAndLockCalloutsWork) {
    ceph::ClusterOptions o;
    o.conf_path = conf();
    auto cluster = ceph::Cluster::connect(o);
    ASSERT_TRUE(cluster.is_ok()) << cluster.status().message();
    auto io = ceph::IoContext::open(*cluster, "nvme-b");
    ASSERT_TRUE(io.is_ok());
    const std::string name = "so-rc-" + std::to_string(getpid());
    ASSERT_TRUE(ceph::create_image(*io, name, 8 << 20).is_ok());
    {
        harness::Harness h(HANDLER_SO);
        auto dev = h.open({"nvme-b/" + name + ";conf=" + conf(), 8 << 20});
        const tcmur_handler& t = h.handler();

        EXPECT_EQ(t.get_lock_state(dev->raw()), TCMUR_DEV_LOCK_UNLOCKED);
        EXPECT_EQ(t.lock(dev->raw(), 7), TCMU_STS_OK);
        EXPECT_EQ(t.get_lock_state(dev->raw()), TCMUR_DEV_LOCK_WRITE_LOCKED);
        uint16_t tag = 0;
        EXPECT_EQ(t.get_lock_tag(dev->raw(), &tag), TCMU_STS_OK);
        EXPECT_EQ(tag, 7);
        EXPECT_EQ(t.unlock(dev->raw()), TCMU_STS_OK);
        EXPECT_EQ(t.get_lock_state(dev->raw()), TCMUR_DEV_LOCK_UNLOCKED);
        // A resize takes the exclusive lock implicitly (librbd), so it comes second.
        tcmulib_cfg_info grow{};
        grow.type = TCMULIB_CFG_DEV_SIZE;
        grow.data.dev_size = 12 << 20;
        EXPECT_EQ(t.reconfig(dev->raw(), &grow), 0);
        auto image = ceph::Image::open(*io, name);
        ASSERT_TRUE(image.is_ok());
        auto size = image->size();
        ASSERT_TRUE(size.is_ok());
        EXPECT_EQ(*size, 12u << 20) << "the image grew with the LUN";
        tcmulib_cfg_info cfgstr{};
        cfgstr.type = TCMULIB_CFG_DEV_CFGSTR;
        EXPECT_EQ(t.reconfig(dev->raw(), &cfgstr), -EOPNOTSUPP);
    }
    ASSERT_TRUE(ceph::remove_image(*io, name).is_ok());
}

}  // namespace
}  // namespace rbdtier
