// PoolSampleCache: a recent pool sample is handed out again per cluster and pool, an old one is
// not, and old entries leave. GatewayReadings: a reading is handed out again within its period,
// and each holder keeps its own.
#include "ceph/resource_monitor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace rbdtier::ceph {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

PoolResources sample_of(const std::string& pool, std::uint64_t stored) {
    PoolResources r;
    r.pool = pool;
    r.stored_bytes = stored;
    r.source = "osd statfs";
    return r;
}

TEST(PoolSampleCache, ARecentSampleIsHandedOutPerClusterAndPool) {
    PoolSampleCache cache(4s);
    const Clock::time_point t0{};
    cache.store("c1", sample_of("nvme-a", 42), t0);
    auto found = cache.find("c1", "nvme-a", t0 + 3s);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->stored_bytes, 42u);
    EXPECT_EQ(found->pool, "nvme-a");
    EXPECT_FALSE(cache.find("c2", "nvme-a", t0 + 1s)) << "another cluster's pool of that name";
    EXPECT_FALSE(cache.find("c1", "hdd-a", t0 + 1s));
}

TEST(PoolSampleCache, ASampleAsOldAsMaxAgeIsNotHandedOut) {
    PoolSampleCache cache(4s);
    const Clock::time_point t0{};
    cache.store("c", sample_of("nvme-a", 1), t0);
    EXPECT_FALSE(cache.find("c", "nvme-a", t0 + 4s));
    cache.store("c", sample_of("nvme-a", 2), t0 + 4s);
    EXPECT_EQ(cache.find("c", "nvme-a", t0 + 5s)->stored_bytes, 2u);
}

TEST(PoolSampleCache, OldEntriesLeaveWhenASampleIsStored) {
    PoolSampleCache cache(4s);
    Clock::time_point now{};
    for (int i = 0; i < 100; ++i, now += 5s)
        cache.store("c", sample_of("pool-" + std::to_string(i), 1), now);
    EXPECT_EQ(cache.size(), 1u) << "removed pools' entries must not pile up";
}

TEST(GatewayReadings, AReadingIsHandedOutAgainWithinItsPeriod) {
    GatewayReadings readings(1s);
    const GatewayReading first = readings.read(5'000'000);
    EXPECT_EQ(first.at_us, 5'000'000u);
    EXPECT_GT(first.resources.rss_bytes, 0u) << "the process's own memory";
    EXPECT_EQ(readings.read(5'999'999).at_us, 5'000'000u) << "younger than the period";
    EXPECT_EQ(readings.read(6'000'000).at_us, 6'000'000u) << "as old as the period: read anew";
}

TEST(GatewayReadings, EachHolderKeepsItsOwnReadings) {
    GatewayReadings a(1s), b(1s);
    (void)a.read(1'000'000);
    EXPECT_EQ(b.read(1'500'000).at_us, 1'500'000u) << "b has read nothing yet";
    EXPECT_EQ(GatewayReadings::process(), GatewayReadings::process()) << "one per process";
}

}  // namespace
}  // namespace rbdtier::ceph
