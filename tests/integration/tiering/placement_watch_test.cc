// PlacementWatch's lease on the live cluster: a gateway trusts its routing only while its watch
// on the map is confirmed, and a lease that ran out is extended only after the map is reloaded
// and every extent routed again (resync), however fresh the watch's next confirmation: while the
// lease had run out, the gateway cannot know that it heard every commit.
#include "ceph/placement_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "engine/round_driver.h"
#include "tests/support/wait_until.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kSize = 16 << 20;

// Holds the only worker of a RoundDriver until released: none of its other rounds runs meanwhile
// (a watch hub whose thread is held up).
class HeldWorker {
public:
    explicit HeldWorker(RoundDriver& driver) : driver_(driver) {
        id_ = driver_.add([this] {
            std::unique_lock lock(mutex_);
            running_ = true;
            cv_.notify_all();
            cv_.wait(lock, [this] { return released_; });
            return std::uint64_t{60'000'000};
        });
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return running_; });
    }
    ~HeldWorker() {
        release();
        driver_.remove(id_);
    }
    void release() {
        std::lock_guard lock(mutex_);
        released_ = true;
        cv_.notify_all();
    }

private:
    RoundDriver& driver_;
    RoundDriver::Id id_ = 0;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool running_ = false;
    bool released_ = false;
};

TEST(PlacementWatchLease, ALeaseThatRanOutIsExtendedOnlyAfterAResync) {
    auto lun = TieredStorage::create("hdd-a", unique_name("lease"), kSize);
    auto hub = std::make_shared<RoundDriver>(1);
    std::atomic<int> resyncs{0};
    auto watch = ceph::PlacementWatch::start(
        lun->cluster(), open_test_pool(lun->cluster(), "hdd-a"), lun->map(), lun->gate(),
        lun->images(),
        [&] {
            ++resyncs;
            return lun->map().reload();
        },
        hub);
    ASSERT_TRUE(watch.is_ok()) << watch.status().message();
    const auto lease = [&] { return lun->gate().lease(std::chrono::steady_clock::now()); };
    ASSERT_EQ(lease(), ceph::ExtentGate::Lease::kValid);
    {
        // The hub's thread held up past the lease while librados keeps confirming the watch.
        HeldWorker held(*hub);
        ASSERT_TRUE(
            test_support::wait_until([&] { return lease() != ceph::ExtentGate::Lease::kValid; },
                                     ceph::PlacementWatch::kLeaseTerm + std::chrono::seconds(5)));
        held.release();
    }
    ASSERT_TRUE(
        test_support::wait_until([&] { return lease() == ceph::ExtentGate::Lease::kValid; }));
    EXPECT_EQ(resyncs.load(), 1) << "the lease was extended without reloading the map";
    EXPECT_EQ((*watch)->rewatches(), 1u);
}

}  // namespace
}  // namespace rbdtier::test
