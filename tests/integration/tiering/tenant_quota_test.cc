// Tenant quotas on the live cluster: a tenant at its quota on a tier gets no more extents there,
// counted on the cluster (its other LUNs' tier images), and a quota raised with the tenant
// store takes effect at the next refresh; two LUNs of a tenant on one gateway share its quota
// through the gateway's tenant ledger.
#include "ceph/tenant_quota.h"

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ceph/io_context.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/lun_tiering.h"
#include "ceph/tenant_store.h"
#include "common/log.h"
#include "engine/policy/policy_registry.h"
#include "live_tiers.h"
#include "tiered_storage_fixture.h"

namespace rbdtier::test {
namespace {

constexpr std::uint64_t kExtent = 4 << 20;

// Bytes of `lun` in nvme-a, as the cluster says.
std::uint64_t nvme_a_bytes(TieredStorage& lun, const std::string&) {
    auto bytes =
        ceph::allocated_bytes(lun.cluster(), "nvme-a", lun.images().lun().tier_image_name());
    EXPECT_TRUE(bytes) << bytes.status().message();
    return bytes ? *bytes : 0;
}

// A tenant of hdd-a's tenant store with a quota on nvme-a (created by the test, as with `rbdtier
// tenant create`), and the quota its LUNs see.
struct QuotaTenant {
    QuotaTenant(ceph::Cluster& cluster, const std::string& stem, std::uint64_t nvme_a_quota)
        : io(open_test_pool(cluster, "hdd-a")) {
        tenant.name = unique_name(stem);
        tenant.quota_bytes["nvme-a"] = nvme_a_quota;
    }
    // `rbdtier tenant set --quota nvme-a=...`.
    ceph::Status set_nvme_a_quota(std::uint64_t bytes) {
        tenant.quota_bytes["nvme-a"] = bytes;
        return store.update(tenant);
    }
    // The tenant's quota as the tiered LUN hdd-a/`name` reads it.
    ceph::TenantQuota quota_of(TieredStorage& lun, const std::string& name) const {
        return ceph::TenantQuota(lun.cluster(), "hdd-a", tenant.name,
                                 {"hdd-a", name, kAllPools, lun.images().lun().tier_image_name()});
    }

    ceph::IoContext io;
    ceph::TenantStore store{io};
    ceph::StoredTenant tenant;
};

// Hot reads of extents [0, extents) for some rounds; the most bytes `lun` held in nvme-a after
// any of them, measured on the cluster (the reactive policy may evict and promote again).
std::uint64_t heat(ceph::LunTiering& tiering, TieredStorage& lun, const std::string& name,
                   std::uint64_t extents, int rounds) {
    std::uint64_t most = 0;
    for (int round = 0; round < rounds; ++round) {
        for (std::uint64_t e = 0; e < extents; ++e) record_reads(tiering, e, 4);
        tiering.run_round();
        most = std::max(most, nvme_a_bytes(lun, name));
    }
    return most;
}

TEST(TenantQuota, ATenantAtItsQuotaGetsNoMoreExtentsThere) {
    const std::uint64_t size = 4 * kExtent;
    const std::string name_a = unique_name("ten-a"), name_b = unique_name("ten-b");
    auto a = TieredStorage::create("hdd-a", name_a, size);
    auto b = TieredStorage::create("hdd-a", name_b, size);
    a->write(0, std::vector<char>(size, 'a'));
    b->write(0, std::vector<char>(size, 'b'));

    QuotaTenant t(a->cluster(), "acme", 2 * kExtent);
    ASSERT_TRUE(t.store.create(t.tenant));

    ceph::TenantQuota quota_a = t.quota_of(*a, name_a);
    ceph::TenantQuota quota_b = t.quota_of(*b, name_b);
    ASSERT_TRUE(quota_a.register_self());
    ASSERT_TRUE(quota_b.register_self());
    auto luns = quota_b.luns();
    ASSERT_TRUE(luns);
    EXPECT_EQ(luns->size(), 2u);

    // LUN a fills the tenant's nvme-a quota: 2 extents, on the cluster.
    for (std::uint64_t e : {0u, 1u}) {
        MigrationRecord record;
        ASSERT_TRUE(a->migrator().migrate(e, 1, record)) << record.outcome;
    }
    ASSERT_EQ(nvme_a_bytes(*a, name_a), 2 * kExtent);

    const StorageModel config = live_tier_config();
    std::vector<TierSpec> specs = tier_specs(config);
    LunRoundsOptions options;
    options.round_us = config.round_us;
    options.resource_interval_us = 0;  // re-read the tenant every round
    ceph::LunTiering tiering(b->images(), b->gate(), b->migrator(), specs,
                             builtin_policy_registry().create("reactive", {config, {}}), options);
    tiering.set_tenant_room_source([&] { return quota_b.refresh(); });

    EXPECT_EQ(heat(tiering, *b, name_b, 3, 6), 0u) << "the tenant was at its quota on nvme-a";
    ASSERT_TRUE(tiering.tenant_room());
    EXPECT_TRUE(tiering.tenant_room()->tenant_found);
    EXPECT_EQ(tiering.tenant_room()->others("nvme-a"), 2 * kExtent) << "measured LUN a";
    EXPECT_EQ(tiering.stats().extents_in_tier[1], 0u);
    EXPECT_EQ(tiering.effective_tiers()[1].capacity_bytes, 1u) << "the policy sees no room";
    EXPECT_TRUE(tiering.stats().resource_problem.empty()) << tiering.stats().resource_problem;

    // A pin does not get past the quota either, and the admin reads why in the log.
    {
        log::CaptureSink capture;
        log::Binding binding(capture, log::Level::kDebug);
        ASSERT_TRUE(tiering.pin(3, 1, 1));
        tiering.run_round();
        tiering.unpin(3, 1);
        EXPECT_GE(tiering.stats().refused_tenant_quota, 1u);
        EXPECT_EQ(capture
                      .find(log::Level::kWarning, b->images().lun_name(),
                            "extent 3 not moved to nvme-a: the tenant's quota there (8388608 "
                            "bytes) is used")
                      .size(),
                  1u);
    }

    // `rbdtier tenant set`: room for two more extents; LUN b takes them, and no more. The LUN
    // says once that it follows the tenant's new quota.
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    ASSERT_TRUE(t.set_nvme_a_quota(4 * kExtent));
    EXPECT_EQ(heat(tiering, *b, name_b, 3, 8), 2 * kExtent) << "room used, never exceeded";
    const auto followed = capture.find(log::Level::kInfo, b->images().lun_name(), "tenant's");
    ASSERT_EQ(followed.size(), 1u);
    EXPECT_EQ(followed[0].text, "tenant's quota: nvme-a 16777216 bytes; bandwidth weight 1");
    EXPECT_EQ(nvme_a_bytes(*a, name_a), 2 * kExtent);
    EXPECT_EQ(b->read(0, size), std::vector<char>(size, 'b'));

    EXPECT_TRUE(quota_a.unregister_self());
    EXPECT_TRUE(quota_b.unregister_self());
    EXPECT_TRUE(t.store.remove(t.tenant.name));
}

// Two LUNs of one tenant on one gateway share its quota exactly: each counts the other as the
// gateway's tenant ledger holds it, and its measurement on the cluster (re-read every round here)
// is not counted again.
TEST(TenantQuota, LunsOfATenantOnOneGatewayShareItsQuotaExactly) {
    const std::uint64_t size = 4 * kExtent;
    const std::string name_a = unique_name("ten-ga"), name_b = unique_name("ten-gb");
    auto a = TieredStorage::create("hdd-a", name_a, size);
    auto b = TieredStorage::create("hdd-a", name_b, size);
    a->write(0, std::vector<char>(size, 'a'));
    b->write(0, std::vector<char>(size, 'b'));
    QuotaTenant t(a->cluster(), "shared", 3 * kExtent);
    ASSERT_TRUE(t.store.create(t.tenant));
    ceph::TenantQuota quota_a = t.quota_of(*a, name_a);
    ceph::TenantQuota quota_b = t.quota_of(*b, name_b);
    ASSERT_TRUE(quota_a.register_self());
    ASSERT_TRUE(quota_b.register_self());

    const StorageModel config = live_tier_config();
    const auto ledger = std::make_shared<TenantLedger>();  // the gateway's
    auto tiering_of = [&](TieredStorage& lun, const std::string& name, ceph::TenantQuota& quota) {
        LunRoundsOptions options;
        options.lun = name == name_a ? 1 : 2;
        options.round_us = config.round_us;
        options.resource_interval_us = 0;  // re-read the tenant every round
        options.tenant = t.tenant.name;
        options.name_in_tenant = ceph::TenantLunRef{"hdd-a", name, {}, {}}.name();
        options.tenants = ledger;
        auto tiering = std::make_unique<ceph::LunTiering>(
            lun.images(), lun.gate(), lun.migrator(), tier_specs(config),
            builtin_policy_registry().create("reactive", {config, {}}), options);
        tiering->set_tenant_room_source([&quota] { return quota.refresh(); });
        return tiering;
    };
    auto tiering_a = tiering_of(*a, name_a, quota_a);
    auto tiering_b = tiering_of(*b, name_b, quota_b);

    EXPECT_EQ(heat(*tiering_a, *a, name_a, 1, 3), kExtent);
    EXPECT_EQ(heat(*tiering_b, *b, name_b, 4, 6), 2 * kExtent) << "the quota's 3 less a's 1";
    // Both hot at once: together they never pass the quota.
    for (int round = 0; round < 6; ++round) {
        for (std::uint64_t e = 0; e < 4; ++e) {
            record_reads(*tiering_a, e, 4);
            record_reads(*tiering_b, e, 4);
        }
        tiering_a->run_round();
        tiering_b->run_round();
        EXPECT_LE(nvme_a_bytes(*a, name_a) + nvme_a_bytes(*b, name_b), 3 * kExtent);
    }
    EXPECT_EQ(ledger->held(t.tenant.name, "nvme-a"),
              nvme_a_bytes(*a, name_a) + nvme_a_bytes(*b, name_b));
    EXPECT_EQ(a->read(0, size), std::vector<char>(size, 'a'));
    EXPECT_EQ(b->read(0, size), std::vector<char>(size, 'b'));

    tiering_a.reset();
    tiering_b.reset();
    EXPECT_TRUE(quota_a.unregister_self());
    EXPECT_TRUE(quota_b.unregister_self());
    EXPECT_TRUE(t.store.remove(t.tenant.name));
}

// The per-LUN quota (tier capacity) and the tenant's: the smaller wins.
TEST(TenantQuota, TheSmallerOfLunAndTenantQuotaWins) {
    const std::uint64_t size = 4 * kExtent;
    const std::string name = unique_name("ten-c");
    auto lun = TieredStorage::create("hdd-a", name, size);
    lun->write(0, std::vector<char>(size, 'c'));
    QuotaTenant t(lun->cluster(), "small", 3 * kExtent);
    ASSERT_TRUE(t.store.create(t.tenant));
    ceph::TenantQuota quota = t.quota_of(*lun, name);
    ASSERT_TRUE(quota.register_self());

    const StorageModel config = live_tier_config();
    std::vector<TierSpec> specs = tier_specs(config);
    specs[1].capacity_bytes = 1 * kExtent;  // quota=nvme-a=4M
    LunRoundsOptions options;
    options.round_us = config.round_us;
    options.resource_interval_us = 0;
    ceph::LunTiering tiering(lun->images(), lun->gate(), lun->migrator(), specs,
                             builtin_policy_registry().create("reactive", {config, {}}), options);
    tiering.set_tenant_room_source([&] { return quota.refresh(); });
    EXPECT_EQ(heat(tiering, *lun, name, 3, 6), 1 * kExtent) << "the LUN's quota is the smaller";
    EXPECT_LE(tiering.effective_tiers()[1].capacity_bytes, 1 * kExtent);

    // Now the tenant's is: nothing more goes there.
    ASSERT_TRUE(t.set_nvme_a_quota(0));
    tiering.run_round();
    const std::uint64_t held = nvme_a_bytes(*lun, name);
    EXPECT_LE(heat(tiering, *lun, name, 3, 6), held) << "what it holds may stay, no more";
    EXPECT_EQ(tiering.effective_tiers()[1].capacity_bytes, std::max<std::uint64_t>(held, 1));
    EXPECT_TRUE(quota.unregister_self());
    EXPECT_TRUE(t.store.remove(t.tenant.name));
}

// `rbdtier lun remove` (remove_lun_tiering) takes the LUN out of its tenant's registry: a removed
// LUN left its entry there for good, and every refresh of the tenant's other LUNs went on
// listing it and looking for its tier images.
TEST(TenantQuota, RemovingALunTakesItOutOfItsTenantsRegistry) {
    constexpr int kLuns = 3;
    ceph::Cluster cluster = connect_test_cluster();
    ceph::IoContext hdd_a = open_test_pool(cluster, "hdd-a");
    const std::string tenant = unique_name("gone");
    const std::string stay = unique_name("ten-stay");
    auto kept = TieredStorage::create("hdd-a", stay, kExtent);
    ceph::TenantQuota kept_quota(
        cluster, "hdd-a", tenant,
        {"hdd-a", stay, kAllPools, kept->images().lun().tier_image_name()});
    ASSERT_TRUE(kept_quota.register_self());
    for (int i = 0; i < kLuns; ++i) {
        const std::string name = unique_name("ten-gone-" + std::to_string(i));
        std::string tier_image;
        {
            auto lun = TieredStorage::create("hdd-a", name, kExtent);
            tier_image = lun->images().lun().tier_image_name();
            lun->remove_all_on_exit(false);  // removed below, as `rbdtier lun remove` does
        }
        ceph::TenantQuota quota(cluster, "hdd-a", tenant, {"hdd-a", name, kAllPools, tier_image});
        ASSERT_TRUE(quota.register_self());
        auto removed = ceph::remove_lun_tiering(cluster, {"hdd-a", "", name}, kAllPools, true);
        ASSERT_TRUE(removed) << removed.status().message();
        EXPECT_TRUE(ceph::remove_image(hdd_a, name));
    }
    auto luns = kept_quota.luns();
    ASSERT_TRUE(luns) << luns.status().message();
    std::vector<std::string> images;
    for (const auto& lun : *luns) images.push_back(lun.image);
    std::cout << "registry entries of the tenant after " << kLuns
              << " LUNs made and removed: " << images.size() << " (one kept LUN)\n";
    EXPECT_EQ(images, std::vector<std::string>{stay}) << "removed LUNs left in the registry";
    EXPECT_TRUE(kept_quota.unregister_self());
}

// Every LUN of a tenant refreshes its room each resource interval, and each refresh measured
// every other LUN's tier images: L LUNs cost L x (L - 1) image measurements per interval. LUNs
// of one gateway share the measurements: each tier image is measured once per interval.
TEST(TenantQuota, RefreshesOfATenantsLunsMeasureEachTierImageOnce) {
    constexpr int kLuns = 4;
    ceph::Cluster cluster = connect_test_cluster();
    ceph::IoContext hdd_a = open_test_pool(cluster, "hdd-a");
    QuotaTenant t(cluster, "many", 64 * kExtent);
    ASSERT_TRUE(t.store.create(t.tenant));
    std::vector<std::unique_ptr<TieredStorage>> luns;
    std::vector<std::unique_ptr<ceph::TenantQuota>> quotas;
    // The LUNs of one gateway share the process's cache; a minute: no entry expires here.
    auto allocations = std::make_shared<ceph::AllocationCache>(std::chrono::minutes(1));
    for (int i = 0; i < kLuns; ++i) {
        const std::string name = unique_name("ten-many-" + std::to_string(i));
        luns.push_back(TieredStorage::create("hdd-a", name, kExtent));
        quotas.push_back(std::make_unique<ceph::TenantQuota>(
            cluster, "hdd-a", t.tenant.name,
            ceph::TenantLunRef{"hdd-a", name, kAllPools,
                               luns.back()->images().lun().tier_image_name()},
            allocations));
        ASSERT_TRUE(quotas.back()->register_self());
    }
    std::uint64_t measured = 0;
    for (const auto& quota : quotas) {  // one resource interval: every LUN refreshes once
        auto room = quota->refresh();
        ASSERT_TRUE(room) << room.status().message();
        EXPECT_EQ(room->others("nvme-a"), 0u);
        EXPECT_EQ(room->luns.size(), static_cast<std::size_t>(kLuns - 1)) << "the other LUNs";
        measured += quota->measurements();
    }
    std::cout << kLuns << " LUNs of one tenant, one refresh each: " << measured
              << " tier image measurements\n";
    EXPECT_LE(measured, static_cast<std::uint64_t>(kLuns));
    EXPECT_EQ(allocations->size(), static_cast<std::size_t>(kLuns));
    for (const auto& quota : quotas) EXPECT_TRUE(quota->unregister_self());
    EXPECT_TRUE(t.store.remove(t.tenant.name));
}

}  // namespace
}  // namespace rbdtier::test
