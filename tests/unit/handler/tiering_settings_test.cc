// What a tiered LUN runs with: its cfgstring, then rbdtier.conf, then the built-in defaults.
#include "handler/tiering_settings.h"

#include <gtest/gtest.h>

namespace rbdtier {
namespace {

LunConfig lun(std::optional<unsigned> horizon_s = std::nullopt) {
    LunConfig c;
    c.pool = "hdd-a";
    c.image = "img";
    c.tiers = {"hdd-a", "nvme-a", "hdd-b"};
    c.horizon_s = horizon_s;
    return c;
}

TEST(TieringSettings, DefaultsAreTheDefaultConfigs) {
    const TieringSettings s = resolve_tiering_settings(lun(), GatewayConfig{});
    TieringSettings expected;
    expected.horizon_s = 120;
    expected.round_us = 1'000'000;
    expected.bandwidth_bytes_per_s = 200.0 * (1 << 20);
    expected.site = "site-a";
    expected.tenant_pool = "hdd-a";
    expected.max_tracked_extents = 8'000'000;
    EXPECT_EQ(s, expected);
}

TEST(TieringSettings, CfgstringBeatsConfigBeatsDefaults) {
    GatewayConfig g;
    g.horizon_s = 40;
    g.round_s = 0.5;
    g.migration_bandwidth_mib_s = 64;
    g.site = "site-b";
    g.tenant_pool = "nvme-b";
    g.max_tracked_extents = 5000;
    TieringSettings s = resolve_tiering_settings(lun(), g);
    EXPECT_EQ(s.max_tracked_extents, 5000u);
    EXPECT_DOUBLE_EQ(s.horizon_s, 40);
    EXPECT_EQ(s.round_us, 500'000u);
    EXPECT_DOUBLE_EQ(s.bandwidth_bytes_per_s, 64.0 * (1 << 20));
    EXPECT_EQ(s.site, "site-b");
    EXPECT_EQ(s.tenant_pool, "nvme-b");

    LunConfig c = lun(8);
    c.tenant_pool = "hdd-b";
    s = resolve_tiering_settings(c, g);
    EXPECT_DOUBLE_EQ(s.horizon_s, 8) << "the LUN's horizon= wins";
    EXPECT_EQ(s.tenant_pool, "hdd-b");
}

TEST(TieringSettings, RoundsAreAtLeastEightPerHorizonAndAtMostTenPerSecond) {
    GatewayConfig g;
    g.round_s = 2;
    EXPECT_EQ(resolve_tiering_settings(lun(8), g).round_us, 1'000'000u) << "8 s / 8";
    EXPECT_EQ(resolve_tiering_settings(lun(2), g).round_us, 250'000u);
    EXPECT_EQ(resolve_tiering_settings(lun(1), g).round_us, 125'000u);
    g.round_s = 0.01;
    EXPECT_EQ(resolve_tiering_settings(lun(120), g).round_us, 100'000u);
}

TEST(TieringSettings, OnlyTheLunsTiersOverridesApply) {
    GatewayConfig g;
    g.tiers["nvme-a"].latency_ms = 0.4;
    g.tiers["nvme-a"].capacity_bytes = 1 << 30;
    g.tiers["ssd-x"].latency_ms = 1;
    const TieringSettings s = resolve_tiering_settings(lun(), g);
    ASSERT_EQ(s.tier_overrides.size(), 1u);
    EXPECT_EQ(s.tier_overrides.at("nvme-a"), g.tiers.at("nvme-a"));
    EXPECT_FALSE(s.tier_overrides.count("ssd-x")) << "not one of the LUN's tiers";
}

}  // namespace
}  // namespace rbdtier
