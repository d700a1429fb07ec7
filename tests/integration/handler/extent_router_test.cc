// ExtentRouter on the local cluster, without a Lun or a tcmu host: a command that spans tiers is
// split at extent boundaries into one operation per run of extents in one tier image, is handed
// to be answered once, having left every extent it entered and given the LUN's rounds one event.
#include "handler/extent_router.h"

#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "../tiering/live_tiers.h"
#include "../tiering/tiered_storage_fixture.h"
#include "ceph/lun_tiering.h"
#include "engine/policy/policy_registry.h"

namespace rbdtier::test {
namespace {

// Records what the router hands over, and lets the test wait for it with a deadline.
class Commands final : public CommandAnswers {
public:
    void answer(IoCommand*, long rc, std::uint64_t) override {
        std::lock_guard lock(mutex_);
        finished_.push_back(rc);
        changed_.notify_all();
    }
    void complete_now(IoCommand*, int status) override {
        std::lock_guard lock(mutex_);
        completed_now_.push_back(status);
        changed_.notify_all();
    }
    void fenced(IoCommand*) override {}

    // The rc of the first answer, or nothing when none came within the deadline.
    std::optional<long> wait_finished() {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, std::chrono::seconds(30), [&] { return !finished_.empty(); }))
            return std::nullopt;
        return finished_.front();
    }
    std::size_t finishes() {
        std::lock_guard lock(mutex_);
        return finished_.size();
    }
    std::size_t completed_now() {
        std::lock_guard lock(mutex_);
        return completed_now_.size();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<long> finished_;
    std::vector<int> completed_now_;
};

class ExtentRouterTest : public ::testing::Test {
protected:
    static constexpr std::uint64_t kExtents = 3;

    void SetUp() override {
        lun_ = TieredStorage::create("hdd-a", unique_name("router"), kExtents * (4 << 20));
        extent_ = lun_->extent_size();
        lun_->write(0, std::vector<char>(kExtents * extent_, 'h'));
        // Extent 1 lives in nvme-a, 0 and 2 at home.
        MigrationRecord record;
        nvme_a_ = *lun_->images().index_of("nvme-a");
        ASSERT_TRUE(lun_->migrator().migrate(1, nvme_a_, record).is_ok()) << record.outcome;
        ASSERT_EQ(lun_->gate().tier(1), nvme_a_);
        const StorageModel config = live_tier_config();
        tiering_.emplace(lun_->images(), lun_->gate(), lun_->migrator(), tier_specs(config),
                         builtin_policy_registry().create("none", {config, {}}),
                         LunRoundsOptions{});
        router_.emplace(lun_->images(), lun_->gate(), *tiering_, extent_, LunId{1}, commands_);
    }

    // Makes c a command of `kind` over [offset, offset+size of data), its data one iovec entry.
    void command(IoCommand& c, IoKind kind, std::uint64_t offset, std::vector<char>& data) {
        iov_ = iovec{data.data(), data.size()};
        c.kind = kind;
        c.offset = offset;
        c.length = data.size();
        c.data_iov = &iov_;
        c.data_iov_cnt = 1;
    }

    std::unique_ptr<TieredStorage> lun_;
    std::uint64_t extent_ = 0;
    std::size_t nvme_a_ = 0;
    Commands commands_;
    std::optional<ceph::LunTiering> tiering_;
    std::optional<ExtentRouter> router_;
    iovec iov_{};
};

TEST_F(ExtentRouterTest, SplitsAWriteAcrossTiersAndCompletesItOnce) {
    // From the middle of extent 0 to the middle of extent 2: three runs, three tier images.
    const std::uint64_t offset = extent_ / 2;
    std::vector<char> data = pattern(2 * extent_, 7);
    IoCommand c;
    command(c, IoKind::kWrite, offset, data);
    ASSERT_EQ(router_->route(&c), TCMU_STS_OK);
    const auto rc = commands_.wait_finished();
    ASSERT_TRUE(rc.has_value()) << "the write did not complete within 30 s";
    EXPECT_EQ(*rc, 0);
    EXPECT_EQ(commands_.finishes(), 1u);
    EXPECT_FALSE(c.gated) << "answered once it left the extents it entered";
    EXPECT_EQ(c.first_extent, 0u);
    EXPECT_EQ(c.last_extent, 2u);
    for (std::uint64_t e = 0; e < kExtents; ++e) EXPECT_EQ(lun_->gate().in_flight(e), 0u) << e;
    tiering_->run_round();
    EXPECT_EQ(tiering_->stats().events, 1u);

    // The middle extent's bytes went to nvme-a's image, the others to the home image.
    std::vector<char> middle(extent_);
    ASSERT_EQ(rbd_read(lun_->tier_image(nvme_a_).handle(), extent_, middle.size(), middle.data()),
              static_cast<ssize_t>(middle.size()));
    EXPECT_EQ(0, std::memcmp(middle.data(), data.data() + (extent_ - offset), extent_));
    std::vector<char> first(extent_ - offset);
    ASSERT_EQ(rbd_read(lun_->tier_image(0).handle(), offset, first.size(), first.data()),
              static_cast<ssize_t>(first.size()));
    EXPECT_EQ(0, std::memcmp(first.data(), data.data(), first.size()));
    // Read back through the gate: the whole LUN as written, around the write too.
    std::vector<char> expected(kExtents * extent_, 'h');
    std::memcpy(expected.data() + offset, data.data(), data.size());
    EXPECT_EQ(lun_->read(0, expected.size()), expected);
}

TEST_F(ExtentRouterTest, RefusesACompareAndWriteAcrossTiersAndLeavesNoExtentEntered) {
    // Two blocks at the boundary of extents 0 (home) and 1 (nvme-a): compare 1, write 1.
    std::vector<char> data(2 * 1024, 'h');
    IoCommand c;
    command(c, IoKind::kCompareAndWrite, extent_ - 512, data);
    c.length = 1024;
    c.data_iov = nullptr;
    c.data_buf = data.data();
    EXPECT_EQ(router_->route(&c), TCMU_STS_INVALID_CDB);
    EXPECT_FALSE(c.gated);
    EXPECT_EQ(commands_.finishes(), 0u);
    EXPECT_EQ(commands_.completed_now(), 0u);
    // Nothing left entered: no sub-I/O counted in flight on either extent.
    EXPECT_EQ(lun_->gate().in_flight(0), 0u);
    EXPECT_EQ(lun_->gate().in_flight(1), 0u);
}

TEST_F(ExtentRouterTest, ASplitCommandWithAFailedPartIsAnsweredOnceWithTheFailure) {
    // Extent 2 routed to a tier image that is not open: the write over extents 1 (nvme-a) and 2
    // goes out as its first part, then its second fails before librbd sees it (EIO). The
    // command is answered once, with that failure, once both parts counted themselves out.
    const std::size_t nvme_b = *lun_->images().index_of("nvme-b");
    ASSERT_EQ(lun_->images().opened(nvme_b), nullptr) << "the fixture opened nvme-b";
    lun_->gate().set_tier(2, static_cast<ceph::ExtentGate::TierIndex>(nvme_b));
    std::vector<char> data = pattern(8192, 9);
    IoCommand c;
    command(c, IoKind::kWrite, 2 * extent_ - 4096, data);
    ASSERT_EQ(router_->route(&c), TCMU_STS_OK);
    const auto rc = commands_.wait_finished();
    ASSERT_TRUE(rc.has_value()) << "the write was not answered within 30 s";
    EXPECT_EQ(*rc, -EIO);
    EXPECT_EQ(commands_.finishes(), 1u);
    EXPECT_FALSE(c.gated);
    for (std::uint64_t e = 0; e < kExtents; ++e) EXPECT_EQ(lun_->gate().in_flight(e), 0u) << e;
    // The command's counters are left as a read-back of a miscompare expects them.
    EXPECT_EQ(c.parts.load(), 1);
    EXPECT_EQ(c.part_error.load(), 0);
}

}  // namespace
}  // namespace rbdtier::test
