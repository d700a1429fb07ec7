// TenantLedger: a tenant's quota holds across the LUNs of the gateway, reserved in one step from
// any thread; measurements count only the LUNs that are not members; a LUN that leaves takes its
// holdings with it, and the last one its tenant's quotas.
#include "engine/tenant_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace rbdtier {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;

TEST(TenantLedger, AQuotaHoldsAcrossTheTenantsMembers) {
    TenantLedger ledger;
    const auto a = ledger.join("acme", "hdd-a/a");
    const auto b = ledger.join("acme", "hdd-a/b");
    const auto other = ledger.join("globex", "hdd-a/c");
    ledger.set_quota("acme", "nvme-a", 3 * kExtent);
    EXPECT_TRUE(ledger.reserve(a, "nvme-a", kExtent));
    EXPECT_TRUE(ledger.reserve(b, "nvme-a", kExtent));
    EXPECT_TRUE(ledger.reserve(a, "nvme-a", kExtent));
    EXPECT_FALSE(ledger.fits(b, "nvme-a", kExtent));
    EXPECT_FALSE(ledger.reserve(b, "nvme-a", kExtent));
    EXPECT_EQ(ledger.held("acme", "nvme-a"), 3 * kExtent);
    EXPECT_EQ(ledger.room(b, "nvme-a"), 0u);
    // No quota: another pool, another tenant.
    EXPECT_TRUE(ledger.reserve(b, "nvme-b", 10 * kExtent));
    EXPECT_FALSE(ledger.room(b, "nvme-b"));
    EXPECT_TRUE(ledger.reserve(other, "nvme-a", 10 * kExtent));
    // A release makes room for any member; releasing more than held takes nothing.
    EXPECT_TRUE(ledger.release(a, "nvme-a", kExtent));
    EXPECT_FALSE(ledger.release(b, "nvme-a", 2 * kExtent));
    EXPECT_TRUE(ledger.reserve(b, "nvme-a", kExtent));
    EXPECT_EQ(ledger.held("acme", "nvme-a"), 3 * kExtent);
}

// What the cluster measured of the tenant's LUNs counts only for those that are not members:
// the members' own holdings are known here and are never counted twice.
TEST(TenantLedger, MeasurementsCountOnlyTheLunsOutsideTheLedger) {
    TenantLedger ledger;
    const auto a = ledger.join("acme", "hdd-a/a");
    ledger.join("acme", "hdd-a/b");
    ledger.set_quotas("acme", {{"nvme-a", 6 * kExtent}});
    ledger.add(a, "nvme-a", 2 * kExtent);
    // Measured a moment ago: a and b of this gateway, c of another.
    ledger.set_measured("acme", {{"hdd-a/a", {{"nvme-a", 2 * kExtent}}},
                                 {"hdd-a/b", {{"nvme-a", kExtent}}},
                                 {"hdd-b/c", {{"nvme-a", 3 * kExtent}, {"nvme-b", kExtent}}}});
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 3 * kExtent);
    EXPECT_EQ(ledger.outside("acme", "nvme-b"), kExtent);
    EXPECT_EQ(ledger.room(a, "nvme-a"), kExtent) << "6 - (2 here + 3 on another gateway)";
    EXPECT_TRUE(ledger.reserve(a, "nvme-a", kExtent));
    EXPECT_FALSE(ledger.reserve(a, "nvme-a", kExtent));
}

// A LUN that leaves takes its holdings with it, and its measurement counts again; the tenant's
// last LUN takes its quotas and measurements too.
TEST(TenantLedger, LeavingTakesTheHoldingsAndTheLastLunTheTenant) {
    TenantLedger ledger;
    const auto a = ledger.join("acme", "hdd-a/a");
    const auto b = ledger.join("acme", "hdd-a/b");
    ledger.set_quota("acme", "nvme-a", 4 * kExtent);
    ledger.set_holdings(b, {{"nvme-a", 3 * kExtent}});
    ledger.set_measured("acme", {{"hdd-a/b", {{"nvme-a", 2 * kExtent}}}});
    EXPECT_EQ(ledger.room(a, "nvme-a"), kExtent);
    ledger.set_holdings(b, {{"nvme-a", kExtent}});
    EXPECT_EQ(ledger.room(a, "nvme-a"), 3 * kExtent) << "set_holdings replaces, not adds";
    ledger.leave(b);
    EXPECT_EQ(ledger.held("acme", "nvme-a"), 0u);
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 2 * kExtent) << "b as last measured";
    EXPECT_EQ(ledger.room(a, "nvme-a"), 2 * kExtent);
    ledger.leave(a);
    EXPECT_FALSE(ledger.quota("acme", "nvme-a"));
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 0u);
    EXPECT_TRUE(ledger.reserve(a, "nvme-a", kExtent)) << "a member that left is not limited";
}

// A LUN open twice on the gateway joins twice under one name: its measurement stays out while
// either member remains, and counts again once both left; a measurement taken after the joins
// leaves the members out as well.
TEST(TenantLedger, AMeasurementStaysOutWhileAMemberOfItsNameRemains) {
    TenantLedger ledger;
    const auto keep = ledger.join("acme", "hdd-a/k");
    const auto first = ledger.join("acme", "hdd-a/a");
    const auto second = ledger.join("acme", "hdd-a/a");
    ledger.set_measured(
        "acme", {{"hdd-a/a", {{"nvme-a", 2 * kExtent}}}, {"hdd-a/k", {{"nvme-a", kExtent}}}});
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 0u);
    ledger.leave(first);
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 0u) << "the second member of the name remains";
    ledger.leave(second);
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 2 * kExtent);
    ledger.join("acme", "hdd-a/a");
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), 0u) << "a member again";
    ledger.leave(keep);
    EXPECT_EQ(ledger.outside("acme", "nvme-a"), kExtent);
}

// Threads reserving and releasing for several LUNs of one tenant at once: the members never hold
// more than the quota, and every reservation is accounted for. Seed printed.
TEST(TenantLedger, ConcurrentReservationsNeverPassTheQuota) {
    const unsigned seed = std::random_device{}();
    std::printf("seed %u\n", seed);
    TenantLedger ledger;
    constexpr std::uint64_t kQuota = 5 * kExtent;
    ledger.set_quota("acme", "nvme-a", kQuota);
    std::vector<TenantLedger::Member> members;
    for (int i = 0; i < 4; ++i) members.push_back(ledger.join("acme", "lun" + std::to_string(i)));
    std::atomic<bool> over{false};
    std::vector<std::thread> threads;
    std::vector<std::uint64_t> held(members.size(), 0);
    for (std::size_t i = 0; i < members.size(); ++i) {
        threads.emplace_back([&, i] {
            std::mt19937 rng(seed + static_cast<unsigned>(i));
            for (int step = 0; step < 20000; ++step) {
                if (held[i] > 0 && rng() % 2 == 0) {
                    if (ledger.release(members[i], "nvme-a", kExtent)) held[i] -= kExtent;
                } else if (ledger.reserve(members[i], "nvme-a", kExtent)) {
                    held[i] += kExtent;
                }
                if (ledger.held("acme", "nvme-a") > kQuota) over = true;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_FALSE(over.load());
    std::uint64_t total = 0;
    for (const auto h : held) total += h;
    EXPECT_EQ(ledger.held("acme", "nvme-a"), total);
    EXPECT_LE(total, kQuota);
}

}  // namespace
}  // namespace rbdtier
