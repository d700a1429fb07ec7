// Scheduler: quotas never exceeded, bandwidth budget, weighted fairness, hysteresis, displacement.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace rbdtier {
namespace {

constexpr std::uint64_t kExt = 4ull << 20;

struct World {
    EngineConfig cfg;
    std::unique_ptr<TenantTable> tenants;
    std::unique_ptr<ResourceModel> resources;
    std::unique_ptr<PlacementState> placement;
    std::unique_ptr<Scheduler> scheduler;
    ScoringContext ctx;
    std::map<ExtentKey, TierId> where;  // what the "executor" did

    explicit World(std::uint64_t fast_capacity, double bw = 40.0 * kExt,
                   unsigned concurrency = 1000) {
        cfg.tiers = {{0, "nvme-a", "nvme", "a", 200, 200, fast_capacity, 10},
                     {1, "hdd-a", "hdd", "a", 8000, 8000, 0, 1}};
        cfg.migration_bandwidth_bytes_per_s = bw;
        cfg.max_concurrent_migrations = concurrency;
        cfg.horizon_us = 60'000'000;
        cfg.min_residency_us = 60'000'000;
        TenantSpec gold{"gold", {{0, 10 * kExt}}, 3.0, 1.0};
        TenantSpec bronze{"bronze", {{0, 10 * kExt}}, 1.0, 1.0};
        cfg.tenants = {gold, bronze};
        cfg.lun_tenant = {{1, 0}, {2, 1}};
        cfg = cfg.validated();
        tenants = std::make_unique<TenantTable>(cfg.tenants, cfg.lun_tenant);
        resources = std::make_unique<ResourceModel>(cfg);
        placement = std::make_unique<PlacementState>(*tenants, kExt);
        placement->set_home(1, 1);
        placement->set_home(2, 1);
        scheduler = std::make_unique<Scheduler>(cfg, *tenants);
        ctx.extent_bytes = kExt;
        ctx.prepare(*resources);
    }

    ExtentScore score(LunId lun, ExtentIndex x, float value) {
        ExtentScore s;
        s.key = make_extent_key(lun, x);
        s.value = value;
        s.tenant = tenants->tenant_of(lun);
        s.home = 1;
        s.current = placement->tier_of(s.key, 1);
        s.best = s.current == 1 ? 0 : s.current;
        s.gain_us = s.current == 1
                        ? static_cast<float>(value * 7800.0 - ctx.move_cost_us[1 * ctx.stride + 0])
                        : 0;
        return s;
    }

    // One tenant without quotas (and a fresh scheduler).
    void unlimited() {
        tenants = std::make_unique<TenantTable>();
        placement = std::make_unique<PlacementState>(*tenants, kExt);
        placement->set_home(1, 1);
        placement->set_home(2, 1);
        scheduler = std::make_unique<Scheduler>(cfg, *tenants);
    }

    std::uint64_t used(TierId t) const {
        std::uint64_t n = 0;
        for (auto& [k, tier] : where)
            if (tier == t) n += kExt;
        return n;
    }
    std::uint64_t tenant_used(TenantIndex ten, TierId t) const {
        std::uint64_t n = 0;
        for (auto& [k, tier] : where)
            if (tier == t && tenants->tenant_of(key_lun(k)) == ten) n += kExt;
        return n;
    }

    // Executes orders at once (completes them) the way a simple executor would.
    std::vector<MigrationOrder> round(std::uint64_t now, const std::vector<ExtentScore>& scores) {
        resources->set_used_bytes(0, used(0));
        auto orders = scheduler->schedule(now, scores, ctx, *resources, *placement, 0.0, 0.0);
        for (const auto& o : orders) {
            const ExtentKey k = make_extent_key(o.lun, o.extent);
            placement->moved(k, o.from, o.to, 1);
            if (o.to == 1)
                where.erase(k);
            else
                where[k] = o.to;
            scheduler->completed(o, now);
        }
        return orders;
    }
};

TEST(Scheduler, NeverExceedsQuotaOrCapacity) {
    World w(15 * kExt);
    std::uint64_t now = 1'000'000;
    for (int r = 0; r < 20; ++r, now += 10'000'000) {
        std::vector<ExtentScore> scores;
        for (int x = 0; x < 40; ++x) {
            scores.push_back(w.score(1, x, 10.0f + static_cast<float>(r * 40 + x)));
            scores.push_back(w.score(2, x, 10.0f + static_cast<float>(r * 40 + x)));
        }
        w.round(now, scores);
        EXPECT_LE(w.used(0), 15 * kExt);
        EXPECT_LE(w.tenant_used(0, 0), 10 * kExt);
        EXPECT_LE(w.tenant_used(1, 0), 10 * kExt);
        EXPECT_EQ(w.placement->tenant_used(0, 0), w.tenant_used(0, 0));
    }
    EXPECT_EQ(w.used(0), 15 * kExt);  // it did fill the fast tier
}

TEST(Scheduler, RespectsTheBandwidthBudget) {
    World w(0, /*bw=*/5.0 * kExt);  // 5 extents/s, burst 2 s
    w.unlimited();
    std::vector<ExtentScore> scores;
    for (int x = 0; x < 1000; ++x) scores.push_back(w.score(1, x, 100.0f));
    std::uint64_t now = 0;
    std::size_t total = 0;
    for (int r = 0; r < 20; ++r, now += 1'000'000) {
        std::vector<ExtentScore> fresh;
        for (const auto& s : scores)
            fresh.push_back(w.score(key_lun(s.key), key_extent(s.key), 100.0f));
        total += w.round(now, fresh).size();
    }
    // Burst (one second of bandwidth) plus 5 per second over 19 s.
    EXPECT_LE(total, 5u + 5u * 19u);
    EXPECT_GE(total, 5u * 19u);
}

TEST(Scheduler, ConcurrencyCapHoldsUntilCompletion) {
    World w(0, 1000.0 * kExt, /*concurrency=*/4);
    w.unlimited();
    std::vector<ExtentScore> scores;
    for (int x = 0; x < 100; ++x) scores.push_back(w.score(1, x, 100.0f));
    w.resources->set_used_bytes(0, 0);
    auto orders =
        w.scheduler->schedule(1'000'000, scores, w.ctx, *w.resources, *w.placement, 0.0, 0.0);
    EXPECT_EQ(orders.size(), 4u);
    auto more =
        w.scheduler->schedule(1'100'000, scores, w.ctx, *w.resources, *w.placement, 0.0, 0.0);
    EXPECT_TRUE(more.empty());
    w.scheduler->completed(orders[0], 1'200'000);
    more = w.scheduler->schedule(1'300'000, scores, w.ctx, *w.resources, *w.placement, 0.0, 0.0);
    EXPECT_EQ(more.size(), 1u);
}

TEST(Scheduler, SharesBandwidthByWeight) {
    World w(0, /*bw=*/8.0 * kExt);
    // Lift quotas out of the way: plenty of candidates from both tenants, unlimited tier.
    TenantSpec gold{"gold", {}, 3.0, 1.0}, bronze{"bronze", {}, 1.0, 1.0};
    w.tenants =
        std::make_unique<TenantTable>(std::vector<TenantSpec>{gold, bronze},
                                      std::unordered_map<LunId, TenantIndex>{{1, 0}, {2, 1}});
    w.placement = std::make_unique<PlacementState>(*w.tenants, kExt);
    w.placement->set_home(1, 1);
    w.placement->set_home(2, 1);
    w.scheduler = std::make_unique<Scheduler>(w.cfg, *w.tenants);
    std::uint64_t now = 0;
    for (int r = 0; r < 30; ++r, now += 1'000'000) {
        std::vector<ExtentScore> scores;
        for (int x = 0; x < 2000; ++x) {
            scores.push_back(w.score(1, x, 50.0f));
            scores.push_back(w.score(2, x, 500.0f));  // bronze's candidates look better
        }
        w.round(now, scores);
    }
    const double gold_bytes = static_cast<double>(w.scheduler->granted_bytes(0));
    const double bronze_bytes = static_cast<double>(w.scheduler->granted_bytes(1));
    ASSERT_GT(bronze_bytes, 0);
    EXPECT_NEAR(gold_bytes / bronze_bytes, 3.0, 0.35);
}

TEST(Scheduler, HysteresisAndDisplacement) {
    World w(4 * kExt);
    w.unlimited();
    // Round 1: extents 0..3 fill the fast tier.
    std::vector<ExtentScore> s1;
    for (int x = 0; x < 4; ++x) s1.push_back(w.score(1, x, 10.0f));
    EXPECT_EQ(w.round(1'000'000, s1).size(), 4u);
    // Round 2 (10 s later, within min residency): hotter extents 10..13 cannot displace yet.
    auto residents_and = [&](float resident_value, float newcomer_value) {
        std::vector<ExtentScore> s;
        for (int x = 0; x < 4; ++x) s.push_back(w.score(1, x, resident_value));
        for (int x = 10; x < 14; ++x) s.push_back(w.score(1, x, newcomer_value));
        return s;
    };
    EXPECT_TRUE(w.round(11'000'000, residents_and(1.0f, 100.0f)).empty());
    // After the residency: slightly better newcomers do not displace (margin)...
    EXPECT_TRUE(w.round(70'000'000, residents_and(10.0f, 11.0f)).empty());
    // ...clearly better ones do: first the residents are demoted (the executor frees their
    // space when that completes), then the newcomers are promoted.
    const auto demotions = w.round(71'000'000, residents_and(1.0f, 100.0f));
    ASSERT_EQ(demotions.size(), 4u);
    for (const auto& o : demotions) {
        EXPECT_EQ(o.to, 1);
        EXPECT_LT(o.extent, 4u);
    }
    const auto promotions = w.round(72'000'000, residents_and(1.0f, 100.0f));
    ASSERT_EQ(promotions.size(), 4u);
    for (const auto& o : promotions) {
        EXPECT_EQ(o.to, 0);
        EXPECT_GE(o.extent, 10u);
    }
    EXPECT_LE(w.used(0), 4 * kExt);
    // Early release: a wasted promotion may leave before its minimum residency.
    std::vector<ExtentScore> s3;
    for (int x = 10; x < 14; ++x) s3.push_back(w.score(1, x, 0.5f));
    s3.push_back(w.score(1, 20, 100.0f));
    EXPECT_TRUE(w.round(73'000'000, s3).empty());
    w.scheduler->release_early(make_extent_key(1, 10));
    const auto early = w.round(74'000'000, s3);
    ASSERT_EQ(early.size(), 1u);
    EXPECT_EQ(early[0].extent, 10u);
    EXPECT_EQ(w.round(75'000'000, s3).size(), 1u);  // extent 20 moves in
}

}  // namespace
}  // namespace rbdtier

namespace rbdtier {
namespace {

// What a planning round passes: the residents and candidates only, in order. Over rounds with
// displacements, quotas and many tied values, the orders are those the full list gives.
TEST(Scheduler, ResidentsAndCandidatesAloneGiveTheSameOrders) {
    World full(12 * kExt, 8.0 * kExt), subset(12 * kExt, 8.0 * kExt);
    std::mt19937_64 rng(3);
    std::uint64_t now = 1'000'000;
    std::size_t orders_seen = 0, displaced = 0;
    for (int r = 0; r < 30; ++r, now += 20'000'000) {
        std::vector<ExtentScore> scores, kept;
        for (int x = 0; x < 200; ++x) {
            const LunId lun = 1 + static_cast<LunId>(rng() % 2);
            const ExtentIndex extent = rng() % 60;
            // Few distinct values: ties everywhere; a third worth nothing (neither kind).
            const float value = rng() % 3 == 0 ? 0.0f : 10.0f * static_cast<float>(rng() % 5);
            scores.push_back(full.score(lun, extent, value));
            ASSERT_EQ(subset.placement->tier_of(scores.back().key, 1), scores.back().current);
            const ExtentScore& s = scores.back();
            if (s.current != s.home || (s.best != s.current && s.gain_us > 0.0 && s.value >= 0.0))
                kept.push_back(s);
        }
        ASSERT_LT(kept.size(), scores.size());
        const auto a = full.round(now, scores);
        const auto b = subset.round(now, kept);
        ASSERT_EQ(a.size(), b.size()) << "round " << r;
        for (std::size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].lun, b[i].lun);
            EXPECT_EQ(a[i].extent, b[i].extent);
            EXPECT_EQ(a[i].from, b[i].from);
            EXPECT_EQ(a[i].to, b[i].to);
            EXPECT_EQ(a[i].net_benefit, b[i].net_benefit);
            if (a[i].to == 1) ++displaced;
        }
        orders_seen += a.size();
    }
    EXPECT_GT(orders_seen, 20u);
    EXPECT_GT(displaced, 0u);  // the residents mattered
}

}  // namespace
}  // namespace rbdtier
