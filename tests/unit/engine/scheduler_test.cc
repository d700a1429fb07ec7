// Scheduler: quotas never exceeded, bandwidth budget, weighted fairness, hysteresis, displacement.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/io_events.h"
#include "tests/support/seed.h"

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

namespace rbdtier {
namespace {

// The scheduler and the admission (engine/admission.h) given one state: the tiers and their
// capacities, the tenants and their quotas per tier, where each extent is, the migrations in
// flight and the hysteresis window. Its executor admits each order the scheduler proposes as it
// comes. After every round, the scheduler proposed nothing the admission refused, and it left no
// candidate that the admission would still admit to a tier where the move pays.
class Agreement {
public:
    static constexpr std::uint64_t kWindowUs = 60'000'000;

    Agreement(std::vector<TierSpec> tiers, std::vector<TenantSpec> tenant_specs,
              std::unordered_map<LunId, TenantIndex> lun_tenant, std::map<LunId, TierId> homes,
              std::uint64_t window_us = kWindowUs)
        : homes_(std::move(homes)) {
        cfg_.tiers = std::move(tiers);
        cfg_.migration_bandwidth_bytes_per_s = 1000.0 * kExt;
        cfg_.max_concurrent_migrations = 1000;
        cfg_.horizon_us = 60'000'000;
        cfg_.min_residency_us = window_us;
        cfg_.tenants = tenant_specs;
        cfg_.lun_tenant = lun_tenant;
        cfg_ = cfg_.validated();
        tenants_ = std::make_unique<TenantTable>(cfg_.tenants, cfg_.lun_tenant);
        resources_ = std::make_unique<ResourceModel>(cfg_);
        placement_ = std::make_unique<PlacementState>(*tenants_, kExt);
        scheduler_ = std::make_unique<Scheduler>(cfg_, *tenants_);
        std::vector<std::uint64_t> capacity;
        for (const TierSpec& t : cfg_.tiers) capacity.push_back(t.capacity_bytes);
        admission_ = std::make_unique<Admission>(AdmissionConfig{kExt, window_us, {}, nullptr},
                                                 std::move(capacity));
        for (const auto& [lun, home] : homes_) {
            placement_->set_home(lun, home);
            const TenantSpec& tenant = tenants_->spec(tenants_->tenant_of(lun));
            admission_->set_tenant(lun, tenant.name);
            for (const auto& [tier, quota] : tenant.quota_bytes)
                admission_->set_quota(tenant.name, tier, quota);
        }
        ctx_.extent_bytes = kExt;
        ctx_.prepare(*resources_);
    }

    Admission& admission() { return *admission_; }
    TierId home(LunId lun) const { return homes_.at(lun); }
    TierId tier_of(LunId lun, ExtentIndex x) const {
        return placement_->tier_of(make_extent_key(lun, x), home(lun));
    }
    ExtentPlace place(LunId lun, ExtentIndex x) const {
        return ExtentPlace{tier_of(lun, x), home(lun), false};
    }

    // Extent `x` of `lun` is in `tier` before any migration.
    void put(LunId lun, ExtentIndex x, TierId tier) {
        placement_->moved(make_extent_key(lun, x), home(lun), tier, home(lun));
        admission_->place(lun, tier, home(lun));
    }

    // A candidate worth `value` accesses, to the fastest tier.
    ExtentScore score(LunId lun, ExtentIndex x, float value, bool proven = true) const {
        ExtentScore s;
        s.key = make_extent_key(lun, x);
        s.value = value;
        s.tenant = tenants_->tenant_of(lun);
        s.home = home(lun);
        s.current = tier_of(lun, x);
        s.best = ctx_.tiers.front();
        s.proven = proven;
        s.gain_us = s.best == s.current ? 0.0f : static_cast<float>(gain(s, s.best));
        if (s.gain_us <= 0) s.best = s.current;
        return s;
    }

    // One round: every order proposed is admitted at once (a refused one, which is a failure,
    // is told dropped); afterwards no candidate left without an order may still move where it
    // pays.
    std::vector<MigrationOrder> round(std::uint64_t now, const std::vector<ExtentScore>& scores) {
        for (TierId t : ctx_.tiers) resources_->set_used_bytes(t, admission_->used(t));
        auto orders =
            scheduler_->schedule(now, scores, ctx_, *resources_, *placement_, 0.0, 0.0, flying_);
        std::set<ExtentKey> ordered;
        for (const MigrationOrder& o : orders) {
            const Refusal refusal = admission_->admit(o, place(o.lun, o.extent), now);
            EXPECT_EQ(refusal_name(refusal), "admitted") << "proposed, refused: " << describe(o);
            ordered.insert(make_extent_key(o.lun, o.extent));
            if (refusal == Refusal::kNone)
                flying_.push_back(o);
            else
                scheduler_->dropped(o);
        }
        // A candidate for which a resident was displaced waits for the demotion to complete.
        std::set<ExtentIndex> made_room_for;
        for (const MigrationOrder& o : orders)
            if (const auto at = o.reason.rfind(" for extent "); at != std::string::npos)
                made_room_for.insert(std::stoull(o.reason.substr(at + 12)));
        for (const ExtentScore& s : scores) {
            if (s.best == s.current || ordered.count(s.key) != 0 ||
                made_room_for.count(key_extent(s.key)) != 0)
                continue;
            for (TierId d : ctx_.tiers) {
                if (ctx_.latency(d, 0) >= ctx_.latency(s.current, 0)) break;
                if (gain(s, d) <= 0) continue;
                const MigrationOrder o =
                    test_events::order(key_extent(s.key), s.current, d, key_lun(s.key));
                const ExtentPlace p{s.current, s.home, false};
                EXPECT_NE(refusal_name(admission_->check(o, p, now)), "admitted")
                    << "admissible, not proposed: " << describe(o);
            }
        }
        return orders;
    }

    // The migrations in flight complete.
    void complete(std::uint64_t now) {
        for (const MigrationOrder& o : flying_) finish(o, now);
        flying_.clear();
    }
    // Each migration in flight completes, is given up (the executor tells both) or goes on, for
    // as long as it may: the executor shows the scheduler every migration it still holds.
    void settle(std::uint64_t now, std::mt19937_64& rng) {
        std::vector<MigrationOrder> going_on;
        for (const MigrationOrder& o : flying_) {
            const auto fate = rng() % 4;
            if (fate < 2) {
                finish(o, now);
            } else if (fate == 2) {
                admission_->abandoned(o, home(o.lun));
                scheduler_->dropped(o);
            } else {
                going_on.push_back(o);
            }
        }
        flying_ = std::move(going_on);
    }

private:
    void finish(const MigrationOrder& o, std::uint64_t now) {
        EXPECT_TRUE(admission_->completed(o, home(o.lun), now));
        placement_->moved(make_extent_key(o.lun, o.extent), o.from, o.to, home(o.lun));
        scheduler_->completed(o, now);
    }
    double gain(const ExtentScore& s, TierId d) const {
        return s.value * (ctx_.latency(s.current, 0) - ctx_.latency(d, 0)) -
               ctx_.move_cost_factor * ctx_.move_cost_us[s.current * ctx_.stride + d];
    }
    std::string describe(const MigrationOrder& o) const {
        return "LUN " + std::to_string(o.lun) + " extent " + std::to_string(o.extent) + " " +
               cfg_.tiers[o.from].name + " -> " + cfg_.tiers[o.to].name;
    }

    EngineConfig cfg_;
    std::map<LunId, TierId> homes_;
    std::unique_ptr<TenantTable> tenants_;
    std::unique_ptr<ResourceModel> resources_;
    std::unique_ptr<PlacementState> placement_;
    std::unique_ptr<Scheduler> scheduler_;
    std::unique_ptr<Admission> admission_;
    ScoringContext ctx_;
    std::vector<MigrationOrder> flying_;  // what the executor holds: admitted, not ended
};

constexpr TierId kNvme = 0;
constexpr TierId kHdd = 1;

std::vector<TierSpec> two_tiers(std::uint64_t nvme_bytes, std::uint64_t hdd_bytes = 0) {
    return {{kNvme, "nvme", "nvme", "a", 200, 200, nvme_bytes, 10},
            {kHdd, "hdd", "hdd", "a", 8000, 8000, hdd_bytes, 1}};
}

// LUN 1 belongs to gold, LUN 2 to bronze; both live on hdd.
Agreement gold_and_bronze(std::uint64_t nvme_bytes, std::uint64_t gold_quota,
                          std::uint64_t bronze_quota) {
    TenantSpec gold{"gold", {}, 1.0, 1.0}, bronze{"bronze", {}, 1.0, 1.0};
    if (gold_quota != 0) gold.quota_bytes[kNvme] = gold_quota;
    if (bronze_quota != 0) bronze.quota_bytes[kNvme] = bronze_quota;
    return Agreement(two_tiers(nvme_bytes), {gold, bronze}, {{1, 0}, {2, 1}},
                     {{1, kHdd}, {2, kHdd}});
}

std::vector<ExtentScore> candidates(const Agreement& a, int per_lun, float value = 50.0f) {
    std::vector<ExtentScore> scores;
    for (int x = 0; x < per_lun; ++x) {
        scores.push_back(a.score(1, x, value + static_cast<float>(x), false));
        scores.push_back(a.score(2, x, value + static_cast<float>(x), false));
    }
    return scores;
}

TEST(SchedulerAgreesWithAdmission, WhenAQuotaBinds) {
    Agreement a = gold_and_bronze(10 * kExt, 2 * kExt, 3 * kExt);
    EXPECT_EQ(a.round(1'000'000, candidates(a, 4)).size(), 5u);
    a.complete(2'000'000);
    EXPECT_TRUE(a.round(3'000'000, candidates(a, 4)).empty());
}

TEST(SchedulerAgreesWithAdmission, WhenTheCapacityBinds) {
    Agreement a = gold_and_bronze(3 * kExt, 0, 0);
    EXPECT_EQ(a.round(1'000'000, candidates(a, 4)).size(), 3u);
    a.complete(2'000'000);
    EXPECT_TRUE(a.round(3'000'000, candidates(a, 4)).empty());
}

TEST(SchedulerAgreesWithAdmission, WithMigrationsInFlight) {
    Agreement a = gold_and_bronze(4 * kExt, 3 * kExt, 0);
    std::vector<ExtentScore> first{a.score(1, 0, 50.0f, false), a.score(1, 1, 50.0f, false)};
    EXPECT_EQ(a.round(1'000'000, first).size(), 2u);
    // Not completed: both reserve their room; gold may add one more, the tier two.
    const auto orders = a.round(1'500'000, candidates(a, 6));
    EXPECT_EQ(orders.size(), 2u);
    EXPECT_EQ(a.admission().used(kNvme), 4 * kExt);
    a.complete(2'000'000);
    EXPECT_TRUE(a.round(3'000'000, candidates(a, 6)).empty());
}

// The executor holds two of gold's migrations, its whole quota, long past the time after which
// the scheduler takes an unreported order for lost (a slow copy, or a budget that has not granted
// them yet): while it holds them, the scheduler neither proposes their extents again (in the
// rounds where those are the hottest) nor others beyond the quota (in the rounds where others are).
TEST(SchedulerAgreesWithAdmission, WithMigrationsHeldPastTheSchedulersExpiry) {
    Agreement a = gold_and_bronze(10 * kExt, 2 * kExt, 0);
    // Extents 2 and 3 hottest, or 0 and 1.
    auto gold = [&a](bool two_and_three) {
        std::vector<ExtentScore> scores;
        for (ExtentIndex x = 0; x < 4; ++x) {
            const bool hot = (x >= 2) == two_and_three;
            scores.push_back(a.score(1, x, (hot ? 200.0f : 50.0f) + static_cast<float>(x), false));
        }
        return scores;
    };
    const auto first = a.round(1'000'000, gold(true));
    ASSERT_EQ(first.size(), 2u);
    EXPECT_GE(first[0].extent, 2u);
    EXPECT_GE(first[1].extent, 2u);
    for (std::uint64_t s = 2; s <= 60; ++s)
        EXPECT_TRUE(a.round(s * 1'000'000, gold(s % 2 == 0)).empty()) << "at " << s << " s";
    a.complete(61'000'000);
    EXPECT_TRUE(a.round(62'000'000, gold(false)).empty());
    EXPECT_EQ(a.admission().tenant_used("gold", kNvme), 2 * kExt);
}

TEST(SchedulerAgreesWithAdmission, WithinTheHysteresisWindow) {
    Agreement a = gold_and_bronze(kExt, 0, 0);
    EXPECT_EQ(a.round(1'000'000, {a.score(1, 0, 50.0f)}).size(), 1u);
    a.complete(2'000'000);
    // A far hotter extent displaces extent 0 once its window is over: extent 0 goes home.
    const std::uint64_t later = 2'000'000 + Agreement::kWindowUs;
    const auto down = a.round(later, {a.score(1, 0, 0.1f), a.score(1, 1, 1000.0f)});
    ASSERT_EQ(down.size(), 1u);
    EXPECT_EQ(down[0].to, kHdd);
    a.complete(later + 1'000'000);
    ASSERT_EQ(a.tier_of(1, 0), kHdd);
    // Hot again at once: extent 0 waits for its window, the admission says so too.
    const std::uint64_t now = later + 2'000'000;
    const MigrationOrder up = test_events::order(0, kHdd, kNvme, 1);
    EXPECT_EQ(a.admission().check(up, a.place(1, 0), now), Refusal::kHysteresis);
    EXPECT_TRUE(a.round(now, {a.score(1, 0, 2000.0f)}).empty());
    a.complete(now + 1'000'000);
    const std::uint64_t settled = later + 1'000'000 + Agreement::kWindowUs;
    const auto back = a.round(settled, {a.score(1, 0, 2000.0f)});
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].extent, 0u);
}

// LUN 2 lives on nvme; one of its extents was moved down to hdd. LUN 1 lives on hdd. Each tier
// holds as much of the other LUN as its capacity allows. Coming home needs no room: LUN 2's
// extent goes home, and LUN 1's cold resident of nvme is demoted home to make room for a hot one.
TEST(SchedulerAgreesWithAdmission, WhenTheDestinationIsHome) {
    TenantSpec gold{"gold", {}, 1.0, 1.0}, bronze{"bronze", {}, 1.0, 1.0};
    Agreement a(two_tiers(kExt, kExt), {gold, bronze}, {{1, 0}, {2, 1}}, {{1, kHdd}, {2, kNvme}});
    a.put(1, 1, kNvme);
    a.put(2, 0, kHdd);
    ASSERT_EQ(a.admission().used(kNvme), kExt);
    ASSERT_EQ(a.admission().used(kHdd), kExt);
    const auto orders =
        a.round(1'000'000, {a.score(2, 0, 50.0f), a.score(1, 5, 100.0f), a.score(1, 1, 0.1f)});
    std::set<std::pair<LunId, ExtentIndex>> moved;
    for (const MigrationOrder& o : orders) {
        EXPECT_EQ(o.to, a.home(o.lun));
        moved.emplace(o.lun, o.extent);
    }
    EXPECT_EQ(moved, (std::set<std::pair<LunId, ExtentIndex>>{{2, 0}, {1, 1}}));
    a.complete(2'000'000);
    const auto next = a.round(3'000'000, {a.score(1, 5, 100.0f)});
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].to, kNvme);
}

// Random states over three tiers: capacities (home's included), quotas per tier, LUNs living on
// any tier, extents placed within the limits, migrations completing, given up or still in flight
// across rounds shorter than the hysteresis window. The two agree in every round.
TEST(SchedulerAgreesWithAdmission, InRandomStates) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937_64 rng(seed);
    std::size_t proposed = 0, homeward = 0;
    for (int trial = 0; trial < 40; ++trial) {
        SCOPED_TRACE("trial " + std::to_string(trial));
        auto extents = [&] { return static_cast<std::uint64_t>(rng() % 5) * kExt; };
        std::vector<TierSpec> tiers = {{0, "nvme", "nvme", "a", 200, 200, extents(), 10},
                                       {1, "ssd", "ssd", "a", 1000, 1000, extents(), 3},
                                       {2, "hdd", "hdd", "a", 8000, 8000, extents(), 1}};
        std::vector<TenantSpec> tenants = {{"gold", {}, 2.0, 1.0}, {"bronze", {}, 1.0, 1.0}};
        for (TenantSpec& t : tenants)
            for (TierId tier = 0; tier < 3; ++tier)
                if (rng() % 2 == 0)
                    t.quota_bytes[tier] = static_cast<std::uint64_t>(rng() % 4) * kExt;
        std::map<LunId, TierId> homes;
        std::unordered_map<LunId, TenantIndex> lun_tenant;
        for (LunId lun = 1; lun <= 4; ++lun) {
            homes[lun] = static_cast<TierId>(rng() % 3);
            lun_tenant[lun] = static_cast<TenantIndex>(rng() % 2);
        }
        Agreement a(tiers, tenants, lun_tenant, homes, 3'000'000);
        for (int i = 0; i < 8; ++i) {
            const LunId lun = 1 + static_cast<LunId>(rng() % 4);
            const ExtentIndex x = rng() % 12;
            const auto tier = static_cast<TierId>(rng() % 3);
            if (a.tier_of(lun, x) != a.home(lun) || tier == a.home(lun)) continue;
            if (a.admission().room(lun, tier, a.home(lun)).refusal(kExt) == Refusal::kNone)
                a.put(lun, x, tier);
        }
        std::uint64_t now = 1'000'000;
        for (int round = 0; round < 8; ++round, now += 1'000'000) {
            std::vector<ExtentScore> scores;
            for (int i = 0; i < 16; ++i) {
                const LunId lun = 1 + static_cast<LunId>(rng() % 4);
                const float value = static_cast<float>(rng() % 200) / 4.0f;
                scores.push_back(a.score(lun, rng() % 12, value, rng() % 2 == 0));
            }
            for (const MigrationOrder& o : a.round(now, scores)) {
                ++proposed;
                if (o.to == a.home(o.lun)) ++homeward;
            }
            a.settle(now + 500'000, rng);
        }
    }
    EXPECT_GT(proposed, 100u);
    EXPECT_GT(homeward, 10u);
}

}  // namespace
}  // namespace rbdtier
