#include "live_tiers.h"

#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include "tiered_storage_fixture.h"

namespace rbdtier::test {

StorageModel live_tier_config(std::uint64_t nvme_a_extents) {
    constexpr std::uint64_t kExtent = 4 << 20;
    const double lat_us[] = {8000, 200, 1200, 10000};
    StorageModel c;
    for (std::size_t i = 0; i < kAllPools.size(); ++i) {
        TierModel m;
        m.spec.id = static_cast<TierId>(i);
        m.spec.name = kAllPools[i];
        m.spec.device_class = i == 1 || i == 2 ? "nvme" : "hdd";
        m.spec.site = i < 2 ? "site-a" : "site-b";
        m.spec.read_latency_us = m.spec.write_latency_us = lat_us[i];
        m.spec.capacity_bytes = i == 1 ? nvme_a_extents * kExtent : 0;
        c.tiers.push_back(m);
    }
    c.default_home = 0;
    c.round_us = 100'000;
    c.horizon_us = 5'000'000;
    return c;
}

std::vector<TierSpec> tier_specs(const StorageModel& config) {
    std::vector<TierSpec> specs;
    for (const auto& t : config.tiers) specs.push_back(t.spec);
    return specs;
}

void record_reads(ceph::LunTiering& tiering, std::uint64_t extent, int reads) {
    constexpr std::uint64_t kExtent = 4 << 20;
    for (int i = 0; i < reads; ++i) {
        IoEvent ev;
        ev.time_us = tiering.now_us();
        ev.offset = extent * kExtent;
        ev.length = 4096;
        ev.op = IoOp::kRead;
        tiering.record(ev);
    }
}

std::uint64_t allocated_extents(ceph::Image& image, std::uint64_t size) {
    std::uint64_t n = 0;
    auto cb = [](std::uint64_t, std::size_t, int exists, void* arg) -> int {
        if (exists) ++*static_cast<std::uint64_t*>(arg);
        return 0;
    };
    EXPECT_EQ(rbd_diff_iterate2(image.handle(), nullptr, 0, size, 0, 1, cb, &n), 0);
    return n;
}

}  // namespace rbdtier::test
