// The resource monitor on the live cluster: pool usage moves when data is written, the
// gateway's CPU time moves when it works, and a tier whose pool is full gets no promotions.
#include "ceph/resource_monitor.h"

#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/lun_tiering.h"
#include "engine/policy/policy_registry.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;
constexpr std::uint64_t kMiB = 1 << 20;

// Fills `pool/name` (created here) with `bytes` of data; removed when the guard goes.
class ScratchImage {
public:
    ScratchImage(ceph::Cluster& cluster, const std::string& pool, std::uint64_t bytes)
        : io_(open_test_pool(cluster, pool)), name_(unique_name("scratch")) {
        EXPECT_TRUE(ceph::create_image(io_, name_, bytes));
        auto image = ceph::Image::open(io_, name_);
        EXPECT_TRUE(image);
        std::vector<char> data(kExtent, 'r');
        for (std::uint64_t off = 0; off < bytes; off += kExtent) {
            EXPECT_EQ(rbd_write(image->handle(), off, kExtent, data.data()),
                      static_cast<ssize_t>(kExtent));
        }
        EXPECT_EQ(rbd_flush(image->handle()), 0);
    }
    ~ScratchImage() { (void)ceph::remove_image(io_, name_); }

private:
    ceph::IoContext io_;
    std::string name_;
};

const PoolResources& pool_of(const ResourceSample& s, const std::string& pool) {
    for (const auto& p : s.pools)
        if (p.pool == pool) return p;
    throw std::runtime_error("no pool " + pool + " in the sample");
}

TEST(ResourceMonitor, PoolUsageFollowsWrittenData) {
    auto cluster = connect_test_cluster();
    ceph::ResourceMonitor monitor(cluster, {"nvme-a", "hdd-b"});
    const auto before = monitor.sample();
    ASSERT_EQ(before.pools.size(), 2u);
    for (const auto& p : before.pools) {
        EXPECT_TRUE(p.known()) << p.pool << ": neither df nor the OSDs answered";
        EXPECT_GT(p.capacity_bytes(), 0u) << p.pool;
        EXPECT_LE(p.used_ratio(), 1.0) << p.pool;
    }
    const std::uint64_t stored = pool_of(before, "nvme-a").stored_bytes;

    ScratchImage data(cluster, "nvme-a", 64 * kMiB);
    // OSDs refresh their statfs every few seconds: wait for the new data to show.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    ResourceSample after = monitor.sample();
    while (pool_of(after, "nvme-a").stored_bytes < stored + 48 * kMiB &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        after = monitor.sample();
    }
    const auto& nvme = pool_of(after, "nvme-a");
    EXPECT_GE(nvme.stored_bytes, stored + 48 * kMiB)
        << "64 MiB written to nvme-a, usage went from " << stored << " to " << nvme.stored_bytes
        << " (" << nvme.source << ")";
    EXPECT_GT(nvme.used_ratio(), 0.0);
    EXPECT_LT(nvme.max_avail_bytes, pool_of(before, "nvme-a").max_avail_bytes);
}

TEST(ResourceMonitor, GatewayCpuAndMemory) {
    auto cluster = connect_test_cluster();
    ceph::ResourceMonitor monitor(cluster, {});
    const auto first = monitor.sample();
    EXPECT_GT(first.gateway.rss_bytes, 1 * kMiB);
    EXPECT_GE(first.gateway.vm_bytes, first.gateway.rss_bytes);
    // Work for 350 ms of CPU time on this thread (measured as CPU time: a loaded machine gives
    // the thread less than its wall time), within a deadline. The process's CPU time is read in
    // clock ticks (10 ms), each sample truncated: at least 300 ms of it must show.
    const auto thread_cpu_s = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    };
    volatile double sink = 0;
    const double cpu_start = thread_cpu_s();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (thread_cpu_s() - cpu_start < 0.35 && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 1000; ++i) sink = sink + std::sqrt(static_cast<double>(i));
    }
    // The process's use is read once per kGatewayReadingPeriod for all monitors: sampled again
    // until a reading taken after the work shows it, within a deadline.
    auto second = monitor.sample();
    const auto shown_by =
        std::chrono::steady_clock::now() + ceph::kGatewayReadingPeriod + std::chrono::seconds(10);
    while (second.gateway.cpu_seconds - first.gateway.cpu_seconds < 0.3 &&
           std::chrono::steady_clock::now() < shown_by) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        second = monitor.sample();
    }
    EXPECT_GE(second.gateway.cpu_seconds - first.gateway.cpu_seconds, 0.3);
    // Cores used since the first sample: this thread's share at least, never more than the
    // machine has.
    EXPECT_GT(second.gateway.cpu_cores, 0.0);
    EXPECT_LE(second.gateway.cpu_cores, std::thread::hardware_concurrency() + 0.5);
}

// The process's own use is read once a period for every monitor of the process (reading
// /proc/self/stat sums over every thread, and a gateway has its LUNs' librbd threads): a second
// monitor sampling soon after the first gets the same reading, even after CPU time was spent in
// between (more than the clock tick, so that two readings would differ).
TEST(ResourceMonitor, MonitorsOfAProcessShareOneReadingOfItsOwnUse) {
    auto cluster = connect_test_cluster();
    ceph::ResourceMonitor a(cluster, {});
    ceph::ResourceMonitor b(cluster, {});
    const auto thread_cpu_s = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    };
    volatile double sink = 0;
    // A loaded machine may stretch the 50 ms of CPU past the period: tried again then.
    bool within_period = false;
    for (int attempt = 0; attempt < 5 && !within_period; ++attempt) {
        const auto start = std::chrono::steady_clock::now();
        const auto first = a.sample();
        const double cpu_start = thread_cpu_s();
        while (thread_cpu_s() - cpu_start < 0.05) {
            for (int i = 0; i < 1000; ++i) sink = sink + std::sqrt(static_cast<double>(i));
        }
        const auto second = b.sample();
        if (std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(500)) continue;
        within_period = true;
        EXPECT_EQ(second.gateway.cpu_seconds, first.gateway.cpu_seconds)
            << "one reading of the process's CPU time for both monitors";
        EXPECT_EQ(second.gateway.rss_bytes, first.gateway.rss_bytes);
    }
    EXPECT_TRUE(within_period) << "two samples 50 ms of CPU apart took 500 ms or more, 5 times";
}

// Hot reads of extents 0-2 for a few rounds.
void heat(ceph::LunTiering& tiering, int rounds) {
    for (int round = 0; round < rounds; ++round) {
        for (std::uint64_t e = 0; e < 3; ++e) record_reads(tiering, e, 4);
        tiering.run_round();
    }
}

// nvme-a is made "full" by a threshold just below its measured usage: the reactive policy's
// hot extents go elsewhere. With Ceph's default threshold the same heat promotes them there.
TEST(ResourceMonitor, AFullPoolGetsNoPromotions) {
    const std::uint64_t size = 6 * kExtent;
    auto lun = TieredStorage::create("hdd-a", unique_name("full"), size);
    lun->write(0, std::vector<char>(size, 'f'));
    ScratchImage data(lun->cluster(), "nvme-a", 16 * kMiB);  // nvme-a holds something
    std::vector<std::string> pools;
    for (std::size_t i = 0; i < lun->images().count(); ++i) pools.push_back(lun->images().pool(i));
    ASSERT_EQ(pools, kAllPools);
    const StorageModel config = live_tier_config();
    std::vector<TierSpec> specs = tier_specs(config);

    // Our 16 MiB stay in nvme-a through the test (whatever earlier tests free meanwhile): a
    // threshold at half of that makes nvme-a full, and no other pool.
    ceph::ResourceMonitor probe(lun->cluster(), pools);
    PoolResources nvme = probe.sample().pools[1];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (nvme.stored_bytes < 16 * kMiB && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        nvme = probe.sample().pools[1];
    }
    ASSERT_GE(nvme.stored_bytes, 16 * kMiB);
    const double nvme_ratio = 16.0 * kMiB / static_cast<double>(nvme.capacity_bytes());
    ASSERT_GT(nvme_ratio, 0.0);
    // The reactive policy on the LUN, sampling the pools every round, after 6 rounds of heat;
    // `pool_full_ratio` empty: Ceph's default threshold.
    auto heated = [&](std::vector<double> pool_full_ratio) {
        LunRoundsOptions options;
        options.round_us = config.round_us;
        options.resource_interval_us = 0;  // every round
        options.pool_full_ratio = std::move(pool_full_ratio);
        auto tiering = std::make_unique<ceph::LunTiering>(
            lun->images(), lun->gate(), lun->migrator(), specs,
            builtin_policy_registry().create("reactive", {config, {}}), options);
        tiering->set_resource_monitor(
            std::make_unique<ceph::ResourceMonitor>(lun->cluster(), pools));
        heat(*tiering, 6);
        return tiering;
    };
    {
        const auto owned = heated({0.99, nvme_ratio / 2, 0.99, 0.99});
        ceph::LunTiering& tiering = *owned;
        const auto stats = tiering.stats();
        // A copy held for the trace: resources() returns the sample by value.
        const auto sample = tiering.resources();
        ASSERT_TRUE(sample);
        const auto& seen = sample->pools[1];
        SCOPED_TRACE(
            "nvme-a as sampled: " + seen.source + " stored " + std::to_string(seen.stored_bytes) +
            " avail " + std::to_string(seen.max_avail_bytes) + " ratio " +
            std::to_string(seen.used_ratio()) + ", threshold " + std::to_string(nvme_ratio / 2));
        EXPECT_GE(stats.resource_samples, 6u);
        EXPECT_EQ(stats.extents_in_tier[1], 0u);
        EXPECT_EQ(allocated_extents(lun->tier_image(1), size), 0u)
            << "a full nvme-a received extents";
        EXPECT_EQ(tiering.effective_tiers()[1].capacity_bytes, 1u) << "the policy sees no room";
        ASSERT_TRUE(tiering.resources());
        EXPECT_EQ(tiering.resources()->pools[1].pool, "nvme-a");
    }
    {
        const auto tiering = heated({});
        EXPECT_EQ(tiering->stats().refused_pool_full, 0u);
        EXPECT_EQ(allocated_extents(lun->tier_image(1), size), 3u)
            << "with room, the hot extents go to nvme-a";
    }
    EXPECT_EQ(lun->read(0, size), std::vector<char>(size, 'f'));
}

}  // namespace
}  // namespace rbdtier::test
