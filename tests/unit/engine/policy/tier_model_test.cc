// A live LUN's tier models (what its policy is made with) and the copy-chunk rule.
#include "engine/policy/tier_model.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/gateway_budget.h"

namespace rbdtier {
namespace {

TierSpec discovered(const char* name, double latency_us, std::uint64_t capacity = 0) {
    TierSpec s;
    s.id = 7;  // discovery knows no index: the LUN's tier order gives it
    s.name = name;
    s.device_class = "nvme";
    s.site = "site-a";
    s.read_latency_us = latency_us;
    s.write_latency_us = latency_us;
    s.capacity_bytes = capacity;
    s.cost_per_gib = 3;
    return s;
}

TEST(TierModel, AnOverrideReplacesOnlyWhatItSets) {
    TierSpec spec = discovered("nvme-a", 150);
    TierOverride o;
    o.latency_ms = 0.4;
    o.capacity_bytes = 1 << 30;
    apply_tier_override(spec, o);
    EXPECT_DOUBLE_EQ(spec.read_latency_us, 400);
    EXPECT_DOUBLE_EQ(spec.write_latency_us, 400);
    EXPECT_EQ(spec.capacity_bytes, 1u << 30);
    EXPECT_EQ(spec.device_class, "nvme") << "not overridden: as discovered";
    EXPECT_EQ(spec.site, "site-a");
    EXPECT_DOUBLE_EQ(spec.cost_per_gib, 3);
    TierOverride place;
    place.site = "site-b";
    place.device_class = "hdd";
    place.cost_per_gib = 0.5;
    apply_tier_override(spec, place);
    EXPECT_EQ(spec.site, "site-b");
    EXPECT_EQ(spec.device_class, "hdd");
    EXPECT_DOUBLE_EQ(spec.cost_per_gib, 0.5);
    EXPECT_DOUBLE_EQ(spec.read_latency_us, 400) << "kept from the first override";
}

TEST(TierModel, ALunsTiersAreItsImagesInOrderWithOverridesThenQuotas) {
    std::vector<LunTier> tiers(4);
    tiers[0].discovered = discovered("hdd-a", 8000);
    tiers[1].discovered = discovered("nvme-a", 200, 10ull << 30);
    tiers[1].quota_bytes = 4ull << 30;  // tighter than the pool: the quota holds
    tiers[2].discovered = discovered("nvme-b", 1200, 2ull << 30);
    tiers[2].quota_bytes = 8ull << 30;  // looser than the pool: the pool holds
    tiers[3].discovered = discovered("hdd-b", 10000);
    TierOverride o;
    o.capacity_bytes = 1ull << 30;  // the override comes first, the quota caps it after
    o.latency_ms = 9;
    tiers[3].override = o;
    tiers[3].quota_bytes = 3ull << 30;
    LunPolicySettings settings;
    settings.local_site = "site-b";
    settings.extent_bytes = 4ull << 20;
    settings.horizon_s = 60;
    settings.round_us = 500'000;
    settings.bandwidth_bytes_per_s = 1e8;
    settings.max_tracked_extents = 1000;
    settings.lun = 42;
    const StorageModel c = lun_policy_config(tiers, settings);
    ASSERT_EQ(c.tiers.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(c.tiers[i].spec.id, i);
        EXPECT_EQ(c.tiers[i].spec.name, tiers[i].discovered.name);
    }
    EXPECT_EQ(c.default_home, 0u);
    EXPECT_EQ(c.tiers[0].spec.capacity_bytes, 0u) << "no quota, no limit";
    EXPECT_EQ(c.tiers[1].spec.capacity_bytes, 4ull << 30);
    EXPECT_EQ(c.tiers[2].spec.capacity_bytes, 2ull << 30);
    EXPECT_EQ(c.tiers[3].spec.capacity_bytes, 1ull << 30);
    EXPECT_DOUBLE_EQ(c.tiers[3].spec.read_latency_us, 9000);
    EXPECT_DOUBLE_EQ(c.tiers[2].spec.read_latency_us, 1200);
    EXPECT_EQ(c.local_site, "site-b");
    EXPECT_EQ(c.extent_bytes, 4ull << 20);
    EXPECT_EQ(c.horizon_us, 60'000'000u);
    EXPECT_EQ(c.round_us, 500'000u);
    EXPECT_DOUBLE_EQ(c.bandwidth_bytes_per_s, 1e8);
    EXPECT_EQ(c.max_tracked_extents, 1000u);
    EXPECT_TRUE(c.tenants.empty()) << "no tenant named";
    EXPECT_NO_THROW(c.validate());
}

TEST(TierModel, ALunsTenantNamesTheLunWithoutQuotas) {
    std::vector<LunTier> tiers(2);
    tiers[0].discovered = discovered("hdd-a", 8000);
    tiers[1].discovered = discovered("nvme-a", 200);
    tiers[1].quota_bytes = 1ull << 30;
    LunPolicySettings settings;
    settings.lun = 0x123456;
    settings.tenant = "acme";
    const StorageModel c = lun_policy_config(tiers, settings);
    ASSERT_EQ(c.tenants.size(), 1u);
    EXPECT_EQ(c.tenants[0].name, "acme");
    EXPECT_EQ(c.tenants[0].luns, std::vector<LunId>{0x123456});
    EXPECT_TRUE(c.tenants[0].quota_bytes.empty()) << "the executor enforces the tenant's quotas";
}

// The executor carries out a LUN's orders as the gateway's budget grants them: with bandwidth and
// slots to spare, it grants one LUN (one client) as many at once as the executor runs for it. The
// policy a live LUN is made with plans for that many migrations at once, not for a channel the
// LUN does not have.
TEST(TierModel, ALiveLunsPolicyPlansForTheMigrationsAtOnceTheExecutorRunsForIt) {
    constexpr std::uint64_t kExtent = 4ull << 20;
    std::uint64_t now = 0;
    GatewayBudget budget(1e12, 64, [&now] { return now; });
    const std::uintptr_t lun = 1;
    for (int i = 0; i < 8; ++i) budget.submit(BudgetRequest{"", 1, 1.0 + i, kExtent, lun});
    const std::size_t at_once = budget.dispatch().size();
    ASSERT_GE(at_once, 1u);

    std::vector<LunTier> tiers(2);
    tiers[0].discovered = discovered("hdd-a", 8000);
    tiers[1].discovered = discovered("nvme-a", 200);
    LunPolicySettings settings;
    settings.extent_bytes = kExtent;
    const StorageModel c = lun_policy_config(tiers, settings);
    EXPECT_EQ(c.max_concurrent, at_once)
        << "the executor runs " << at_once << " migration(s) of a LUN at a time";
    EXPECT_EQ(c.channel().max_concurrent, at_once) << "what the selector's shadows are given";
}

// The gateway's budget holds one second of its bandwidth, whatever the LUNs' round: a replay or
// a shadow at quarter-second rounds starts as much at once as the gateway would, not a quarter.
TEST(TierModel, TheChannelHoldsOneSecondOfBandwidthAsTheGatewaysBudgetDoes) {
    constexpr std::uint64_t kExtent = 4ull << 20;
    constexpr double kBandwidth = 10.0 * kExtent;  // 10 extents a second
    std::uint64_t now = 0;
    GatewayBudget budget(kBandwidth, 64, [&now] { return now; });
    for (int i = 0; i < 40; ++i) budget.submit(BudgetRequest{"", 1, 1.0 + i, kExtent, 0});
    const std::size_t at_once = budget.dispatch().size();
    ASSERT_EQ(at_once, 10u) << "the gateway's bucket starts full, one second deep";
    for (const std::uint64_t round_us : {250'000ull, 1'000'000ull}) {
        StorageModel c;
        c.extent_bytes = kExtent;
        c.bandwidth_bytes_per_s = kBandwidth;
        c.round_us = round_us;
        EXPECT_EQ(c.channel().bucket_bytes / kExtent, at_once) << "rounds of " << round_us << " us";
    }
}

// A tier as discovery found it: `device_class` media at `site`, `probe_us` its round trip.
LunTier probed(const char* name, const char* device_class, const char* site, double probe_us) {
    LunTier t;
    t.discovered = discovered(name, probe_us);
    t.discovered.device_class = device_class;
    t.discovered.site = site;
    return t;
}

std::vector<double> read_latencies(const StorageModel& c) {
    std::vector<double> reads;
    for (const TierModel& t : c.tiers) reads.push_back(t.spec.read_latency_us);
    return reads;
}

// Round trips measured on a loaded machine rank nvme-a after hdd-a: the media order them, nvme-a
// at its class's floor; hdd-a keeps what discovery measured.
TEST(TierModel, TheMediaOrderTheDiscoveredTiersOfASite) {
    const std::vector<LunTier> tiers = {probed("hdd-a", "hdd", "site-a", 14'270),
                                        probed("nvme-a", "nvme", "site-a", 15'620)};
    const StorageModel c = lun_policy_config(tiers, LunPolicySettings{});
    EXPECT_EQ(read_latencies(c), (std::vector<double>{14'270, 100}));
    EXPECT_DOUBLE_EQ(c.tiers[1].spec.write_latency_us, 100);
    const std::vector<LunTier> in_order = {probed("hdd-a", "hdd", "site-a", 14'270),
                                           probed("nvme-a", "nvme", "site-a", 9'000)};
    EXPECT_EQ(read_latencies(lun_policy_config(in_order, LunPolicySettings{})),
              (std::vector<double>{14'270, 9'000}))
        << "already in the media's order: as measured";
}

// nvme below ssd below hdd: a tier put back at its floor may then be out of order with a faster
// one, which is put back too.
TEST(TierModel, ThreeMediaOfASiteEndInTheirOrder) {
    const std::vector<LunTier> tiers = {probed("hdd-a", "hdd", "site-a", 14'000),
                                        probed("nvme-a", "nvme", "site-a", 4'000),
                                        probed("ssd-a", "ssd", "site-a", 20'000)};
    const StorageModel c = lun_policy_config(tiers, LunPolicySettings{});
    EXPECT_EQ(read_latencies(c), (std::vector<double>{14'000, 100, 300}));
}

// Other sites (a remote nvme pool can be slower than a local hdd one), unknown media and the
// gateway's configured latencies keep their figures.
TEST(TierModel, OtherSitesUnknownMediaAndConfiguredLatenciesKeepTheirFigures) {
    std::vector<LunTier> tiers = {
        probed("hdd-a", "hdd", "site-a", 14'000), probed("nvme-b", "nvme", "site-b", 30'000),
        probed("fast-a", "", "site-a", 20'000), probed("nvme-a", "nvme", "site-a", 15'000)};
    TierOverride o;
    o.latency_ms = 16;
    tiers[3].override = o;
    const StorageModel c = lun_policy_config(tiers, LunPolicySettings{});
    EXPECT_EQ(read_latencies(c), (std::vector<double>{14'000, 30'000, 20'000, 16'000}));
}

TEST(TierModel, CopiesMoveOneMibAtATimeOnlyToAndFromTiersUnderTwoMilliseconds) {
    EXPECT_EQ(copy_chunk_bytes(discovered("nvme-a", 200)), 1u << 20);
    EXPECT_EQ(copy_chunk_bytes(discovered("nvme-b", 1999)), 1u << 20);
    EXPECT_EQ(copy_chunk_bytes(discovered("ssd", 2000)), 0u) << "2 ms: the whole extent";
    EXPECT_EQ(copy_chunk_bytes(discovered("hdd-a", 8000)), 0u);
    EXPECT_EQ(copy_chunk_bytes(discovered("unmeasured", 0)), 0u) << "latency unknown";
    EXPECT_EQ(copy_chunk_bytes(discovered("broken", -1)), 0u);
}

// A LUN's copies go by the latency its policy plans with: an nvme pool that discovery measured
// slower than the hdd home (a loaded machine) is nvme for both, and a pool the gateway's
// configuration says is slow is slow for both, whatever discovery measured.
TEST(TierModel, ALunsCopiesGoByTheLatenciesItsPolicySees) {
    std::vector<LunTier> tiers = {probed("hdd-a", "hdd", "site-a", 14'270),
                                  probed("nvme-a", "nvme", "site-a", 15'620),
                                  probed("ssd-a", "ssd", "site-a", 300)};
    TierOverride slow;
    slow.latency_ms = 5;
    tiers[2].override = slow;
    const StorageModel policy = lun_policy_config(tiers, LunPolicySettings{});
    EXPECT_EQ(read_latencies(policy), (std::vector<double>{14'270, 100, 5'000}));
    EXPECT_EQ(copy_chunk_bytes(tiers), (std::vector<std::uint64_t>{0, 1u << 20, 0}));
}

}  // namespace
}  // namespace rbdtier
