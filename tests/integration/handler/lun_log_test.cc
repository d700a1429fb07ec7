// What a tiered LUN tells the admin through the log (common/log.h), on the local cluster: its
// open with tiers and policy, the map load, taking the lock and the LUN's placement, a
// migration, the loss of the lock to another gateway (and what the initiator is answered
// then), the release of the lock and the close.
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "ceph/tiered_lun_store.h"
#include "common/log.h"
#include "lun_fixture.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr std::uint64_t kSize = 4 * kExtent;
constexpr const char* kTiers = "tiers=hdd-a,nvme-a;policy=reactive";

int read_block(Lun& lun, std::uint64_t off) {
    std::vector<char> buf(4096);
    iovec v{buf.data(), buf.size()};
    TestCommand c;
    return run([&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, &v, 1, buf.size(), off); }, c);
}

TEST(LunLog, OpenMigrationLockLossAndCloseAreLogged) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    ScratchImage image("hdd-a", kSize, "logged");
    ASSERT_TRUE(image.ok());
    const std::string lun = "hdd-a/" + image.name();
    using log::Level;

    auto a = Lun::open(image.config(kTiers), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    const auto opened = capture.find(Level::kInfo, lun, "opened: ");
    ASSERT_EQ(opened.size(), 1u);
    EXPECT_NE(opened[0].text.find("tiers hdd-a (home), nvme-a; policy reactive"), std::string::npos)
        << opened[0].text;
    EXPECT_EQ(capture.find(Level::kInfo, lun, "placement map loaded: 0 of 4 extents").size(), 1u);

    ASSERT_EQ((*a)->lock(1), TCMU_STS_OK);
    EXPECT_EQ(capture.find(Level::kInfo, lun, "took the exclusive lock (ALUA tag 1)").size(), 1u);
    EXPECT_EQ(capture.find(Level::kInfo, lun, "owns the LUN's placement").size(), 1u);

    (*a)->tiering()->set_paused(true);  // the test moves the extent itself
    ceph::MigrationRecord record;
    ASSERT_TRUE((*a)->migrator()->migrate(1, 1, record).is_ok()) << record.outcome;
    EXPECT_EQ(capture.find(Level::kDebug, lun, "moved extent 1 from hdd-a to nvme-a: 4194304 bytes")
                  .size(),
              1u);
    // Asked again, the migrator has nothing to do: debug, not a warning.
    EXPECT_FALSE((*a)->migrator()->migrate(1, 1, record).is_ok());
    EXPECT_EQ(capture.find(Level::kDebug, lun, "did not move extent 1").size(), 1u);
    EXPECT_TRUE(capture.find(Level::kWarning, lun, "did not move").empty());

    // Another gateway takes the LUN over: this one is blocklisted, and learns it on its next
    // command (or its map's watch); it says so once, however many commands fail.
    auto b = Lun::open(image.config(kTiers), LunGeometry{kSize, 512}, fake_host());
    ASSERT_TRUE(b.is_ok()) << b.status().message();
    ASSERT_EQ((*b)->lock(2), TCMU_STS_OK);
    int status = TCMU_STS_OK;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (status == TCMU_STS_OK && std::chrono::steady_clock::now() < deadline) {
        status = read_block(**a, 0);
    }
    EXPECT_EQ(status, TCMU_STS_BUSY);
    for (int i = 0; i < 5; ++i) (void)read_block(**a, 0);
    const auto lost = capture.find(Level::kWarning, lun, "lost the exclusive lock: ");
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_NE(lost[0].text.find("blocklisted"), std::string::npos) << lost[0].text;
    EXPECT_FALSE(capture.find(Level::kInfo, lun, "answered BUSY").empty());

    EXPECT_EQ((*b)->unlock(), TCMU_STS_OK);
    EXPECT_EQ(capture.find(Level::kInfo, lun, "released the exclusive lock").size(), 1u);
    a->reset();
    b->reset();
    EXPECT_EQ(capture.find(Level::kInfo, lun, "closed").size(), 2u);

    // Every line names the LUN it is about.
    for (const log::Record& r : capture.records()) {
        if (r.lun.empty()) continue;
        EXPECT_EQ(r.lun, lun) << r.text;
    }
    if (HasFailure()) {
        for (const log::Record& r : capture.records())
            std::cerr << log::to_string(r.level) << " " << r.render() << "\n";
    }
    (void)ceph::remove_tiered_lun_store(image.cluster(), "hdd-a", "", image.name(), {"nvme-a"});
}

}  // namespace
}  // namespace rbdtier::testing
