// LunRounds over an in-memory LunStorage: the rounds' own rules, without a cluster. Orders the
// admission refuses never reach the storage; the policy is told of each of its orders the round
// did not carry out; pins refuse bad ranges and replace overlap; a failed move is counted and
// gives its reservation back; placement changed by another hand is recounted and told to the
// policy; a full pool and the tenant's quota refuse orders, and a failed tenant reading keeps the
// last known room; a round of a LUN another gateway owns moves nothing, and orders queued before
// this gateway lost the LUN are dropped, not failed; rounds that plan nothing (paused, not the
// owner) still let the policy take the LUN's I/O in; the policy plans with the tiers' latencies
// and the channel as the LUN's commands and migrations measured them, also when discovery ranked
// the tiers against their media at open. The same rounds on the live cluster are in
// tests/integration/tiering/.
#include "engine/lun_rounds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/policy/policy_registry.h"
#include "engine/policy/tier_model.h"
#include "tests/support/fake_storage.h"
#include "tests/support/heap_bytes.h"
#include "tests/support/io_events.h"
#include "tests/support/seed.h"

namespace rbdtier {
namespace {

using test_events::kE;

using test_support::FakeStorage;

// hdd-a (home), nvme-a (`nvme_a_extents` extents away from home at most; 0: unlimited), nvme-b,
// hdd-b.
std::vector<TierSpec> tiers(std::uint64_t nvme_a_extents = 0) {
    std::vector<TierSpec> specs(4);
    const char* names[] = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};
    for (std::size_t t = 0; t < specs.size(); ++t) {
        specs[t].id = static_cast<TierId>(t);
        specs[t].name = names[t];
    }
    specs[1].capacity_bytes = nvme_a_extents * kE;
    return specs;
}

// A policy that proposes the same orders every round and keeps what the executor told it.
class ScriptedPolicy final : public PlacementPolicy {
public:
    explicit ScriptedPolicy(std::vector<MigrationOrder> orders) : orders_(std::move(orders)) {}
    std::string_view name() const override { return "scripted"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView& view) override {
        planned_with->push_back(view.used_bytes(1) / kE);
        in_flight->emplace_back();
        view.migrations_in_flight(
            [this](const MigrationOrder& o) { in_flight->back().push_back(o.extent); });
        return orders_;
    }
    double benefit() const { return orders_.empty() ? 0 : orders_.front().net_benefit; }
    void dropped(const MigrationOrder& order, std::uint64_t) override {
        dropped_extents->push_back(order.extent);
    }
    void migrated(const MigrationOrder& order, std::uint64_t) override {
        migrated_extents->push_back(order.extent);
    }
    void placement_changed(LunId, std::uint64_t, const PlacementView& view) override {
        changes->push_back(view.used_bytes(1) / kE);
    }

    std::shared_ptr<std::vector<ExtentIndex>> dropped_extents =
        std::make_shared<std::vector<ExtentIndex>>();
    std::shared_ptr<std::vector<ExtentIndex>> migrated_extents =
        std::make_shared<std::vector<ExtentIndex>>();
    // Per placement change: the extents in nvme-a the policy's view showed.
    std::shared_ptr<std::vector<std::uint64_t>> changes =
        std::make_shared<std::vector<std::uint64_t>>();
    // Per plan: the extents in nvme-a the policy's view showed, and the extents of the
    // migrations in flight it listed.
    std::shared_ptr<std::vector<std::uint64_t>> planned_with =
        std::make_shared<std::vector<std::uint64_t>>();
    std::shared_ptr<std::vector<std::vector<ExtentIndex>>> in_flight =
        std::make_shared<std::vector<std::vector<ExtentIndex>>>();

private:
    std::vector<MigrationOrder> orders_;
};

MigrationOrder move(ExtentIndex extent, TierId from, TierId to) {
    MigrationOrder o;
    o.extent = extent;
    o.from = from;
    o.to = to;
    return o;
}

// The rounds of a LUN of `extents` extents over a FakeStorage, planning `orders` every round.
struct Rounds {
    Rounds(std::uint64_t extents, std::vector<MigrationOrder> orders,
           std::uint64_t nvme_a_extents = 0, LunRoundsOptions options = {})
        : storage(extents) {
        auto scripted = std::make_unique<ScriptedPolicy>(std::move(orders));
        policy = scripted.get();
        rounds = std::make_unique<LunRounds>(storage, tiers(nvme_a_extents), std::move(scripted),
                                             std::move(options));
    }
    FakeStorage storage;
    ScriptedPolicy* policy = nullptr;
    std::unique_ptr<LunRounds> rounds;
};

// An order to the tier the extent is already in, or to a tier the LUN does not have, is refused
// before the storage is asked: it is no failed migration and leaves no history; the valid order
// of the same round still moves.
TEST(LunRounds, RefusesOrdersToTheTierTheExtentIsIn) {
    Rounds r(4, {move(0, 0, 0), move(1, 0, 4), move(2, 0, 1)});
    r.rounds->run_round();
    EXPECT_EQ(r.storage.migrations, (std::vector<ExtentIndex>{2}));
    const auto stats = r.rounds->stats();
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_EQ(stats.moved, 1u);
    EXPECT_EQ(stats.bytes_moved, kE);
    EXPECT_EQ(stats.extents_in_tier, (std::vector<std::uint64_t>{3, 1, 0, 0}));
    const auto history = r.rounds->history();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history.front().extent, 2u);
    EXPECT_EQ(history.front().outcome, "moved");
    EXPECT_EQ(r.storage.tier(2), 1);
}

// Every order of the policy's that the round does not carry out is told dropped, as the replay
// simulator tells it: refused as invalid, for a pin or for the tier's capacity. Pin orders are
// not the policy's.
TEST(LunRounds, TellsThePolicyWhichOfItsOrdersWereNotCarriedOut) {
    Rounds r(4, {move(0, 0, 0), move(1, 0, 1), move(2, 0, 1), move(3, 0, 1)},
             /*nvme_a_extents=*/1);
    ASSERT_FALSE(r.rounds->pin(1, 1, 2).has_value());
    r.rounds->run_round();
    auto dropped = *r.policy->dropped_extents;
    std::sort(dropped.begin(), dropped.end());
    EXPECT_EQ(dropped, (std::vector<ExtentIndex>{0, 1, 3}));
    // The policy hears of every move, the pin's too: it keeps track of where extents are.
    EXPECT_EQ(*r.policy->migrated_extents, (std::vector<ExtentIndex>{1, 2}));
    EXPECT_EQ(r.storage.tier(1), 2) << "the pin's order did not move extent 1 to nvme-b";
    EXPECT_EQ(r.storage.tier(2), 1);
    EXPECT_EQ(r.rounds->stats().refused_capacity, 1u);
}

TEST(LunRounds, PinsRefuseBadRangesAndReplaceOverlap) {
    Rounds r(8, {});
    LunRounds& rounds = *r.rounds;
    EXPECT_EQ(rounds.pin(0, 1, 4)->code, -EINVAL);  // tier out of range
    EXPECT_EQ(rounds.pin(0, 0, 1)->code, -EINVAL);  // empty
    EXPECT_EQ(rounds.pin(7, 2, 1)->code, -EINVAL);  // past the end
    EXPECT_EQ(rounds.pin(8, 1, 1)->code, -EINVAL);
    EXPECT_TRUE(rounds.pins().empty());

    ASSERT_FALSE(rounds.pin(1, 4, 2).has_value());  // [1,5) -> nvme-b
    ASSERT_FALSE(rounds.pin(3, 4, 1).has_value());  // [3,7) -> nvme-a replaces [3,5)
    ASSERT_FALSE(rounds.pin(2, 1, 3).has_value());  // [2,3) -> hdd-b splits [1,3)
    const std::vector<PinnedRange> want = {{1, 1, 2}, {2, 1, 3}, {3, 4, 1}};
    EXPECT_EQ(rounds.pins(), want);
    rounds.unpin(4, 2);  // leaves [3,4) and [6,7)
    const std::vector<PinnedRange> after = {{1, 1, 2}, {2, 1, 3}, {3, 1, 1}, {6, 1, 1}};
    EXPECT_EQ(rounds.pins(), after);
    rounds.unpin(0, 100);
    EXPECT_TRUE(rounds.pins().empty());

    rounds.set_home_pinned(true);
    EXPECT_EQ(rounds.pin(0, 1, 1)->code, -EBUSY);
    EXPECT_EQ(rounds.pins(), (std::vector<PinnedRange>{{0, 8, 0}}));
}

// A move the storage could not make is counted failed and kept in the history; the policy does
// not hear it migrated, and the reservation it held in nvme-a goes back: the next order there is
// admitted.
TEST(LunRounds, AFailedMoveGivesItsReservationBack) {
    Rounds r(4, {move(0, 0, 1), move(1, 0, 1)}, /*nvme_a_extents=*/1);
    r.storage.fail = {0};
    r.rounds->run_round();
    const auto stats = r.rounds->stats();
    EXPECT_EQ(stats.failed, 1u);
    EXPECT_EQ(stats.moved, 1u);
    EXPECT_EQ(stats.refused_capacity, 0u);
    EXPECT_EQ(r.storage.migrations, (std::vector<ExtentIndex>{0, 1}));
    EXPECT_EQ(*r.policy->migrated_extents, (std::vector<ExtentIndex>{1}));
    const auto history = r.rounds->history();
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].outcome, "copy: Input/output error");
    EXPECT_EQ(history[1].outcome, "moved");
    EXPECT_EQ(r.rounds->history(1).size(), 1u);
}

// Extents moved by another hand (the storage's placement epoch moved) are recounted before the
// next round plans, the policy is told, and the capacity they take is the admission's too; a
// resize grows the home pin over the new extents.
TEST(LunRounds, RecountsPlacementChangedByAnotherHand) {
    Rounds r(4, {move(3, 0, 1)}, /*nvme_a_extents=*/1);
    r.storage.move_by_another_hand(0, 1);
    r.rounds->run_round();
    EXPECT_EQ(r.rounds->stats().extents_in_tier, (std::vector<std::uint64_t>{3, 1, 0, 0}));
    EXPECT_EQ(*r.policy->changes, (std::vector<std::uint64_t>{1}));
    EXPECT_TRUE(r.storage.migrations.empty()) << "nvme-a was full of the other hand's extent";
    EXPECT_EQ(r.rounds->stats().refused_capacity, 1u);

    r.rounds->run_round();  // nothing changed: the policy is not told again
    EXPECT_EQ(r.policy->changes->size(), 1u);

    r.rounds->set_home_pinned(true);
    r.storage.grow(6);
    r.rounds->run_round();
    EXPECT_EQ(r.rounds->pins(), (std::vector<PinnedRange>{{0, 6, 0}}));
    EXPECT_EQ(r.storage.tier(0), 0) << "the home pin did not bring extent 0 home";
}

// A full pool and the tenant's quota refuse orders into them; the policy's view shows the
// limits. A failed tenant reading keeps the last known room and is the sampling problem until a
// reading succeeds again.
TEST(LunRounds, FullPoolsAndTheTenantsQuotaRefuseOrders) {
    LunRoundsOptions options;
    options.resource_interval_us = 0;  // every round samples
    Rounds r(4, {move(0, 0, 1), move(1, 0, 2), move(2, 0, 2)}, 0, options);
    ResourceReading reading;
    reading.pools = ResourceSample{};
    reading.pools->pools.resize(4);
    reading.pools->pools[1] = PoolResources{"nvme-a", 90, 0, 10, "df"};  // 90% used: full
    reading.pools->pools[2] = PoolResources{"nvme-b", 0, 0, 1ull << 40, "df"};
    TenantRoom room;
    room.tenant_found = true;
    room.quota["nvme-b"] = 2 * kE;
    room.luns["hdd-a/other"]["nvme-b"] = kE;  // its other LUN holds one extent there
    reading.tenant = room;
    r.storage.reading = reading;
    r.rounds->run_round();
    auto stats = r.rounds->stats();
    EXPECT_EQ(stats.resource_samples, 1u);
    EXPECT_EQ(stats.refused_pool_full, 1u);
    EXPECT_EQ(stats.refused_tenant_quota, 1u);
    EXPECT_EQ(stats.moved, 1u);
    EXPECT_EQ(r.storage.migrations, (std::vector<ExtentIndex>{1}));
    EXPECT_EQ(r.rounds->pools_full(), (std::vector<bool>{false, true, false, false}));
    // The policy sees nvme-b hold what the LUN has there: no room for more.
    EXPECT_EQ(r.rounds->effective_tiers()[2].capacity_bytes, kE);
    ASSERT_TRUE(r.rounds->tenant_room());
    EXPECT_EQ(r.rounds->tenant_room()->quota.at("nvme-b"), 2 * kE);

    r.storage.reading->tenant.reset();
    r.storage.reading->tenant_problem = "read tenant t: Connection timed out";
    r.rounds->run_round();
    stats = r.rounds->stats();
    EXPECT_EQ(stats.resource_problem, "tenant: read tenant t: Connection timed out");
    ASSERT_TRUE(r.rounds->tenant_room()) << "the last known room was dropped";
    EXPECT_EQ(stats.refused_tenant_quota, 2u);

    r.storage.reading->tenant = room;
    r.storage.reading->tenant_problem.clear();
    r.rounds->run_round();
    EXPECT_EQ(r.rounds->stats().resource_problem, "");
}

// A storage that samples nothing is asked each round and counts no sample.
TEST(LunRounds, AStorageThatSamplesNothingCountsNoSample) {
    LunRoundsOptions options;
    options.resource_interval_us = 0;
    Rounds r(2, {}, 0, options);
    r.rounds->run_round();
    r.rounds->run_round();
    EXPECT_EQ(r.storage.samples, 2);
    EXPECT_EQ(r.rounds->stats().resource_samples, 0u);
    EXPECT_FALSE(r.rounds->resources());
}

// A clock the test moves (microseconds).
struct FakeClock {
    std::atomic<std::uint64_t> now{1'000'000};
    GatewayBudget::Clock clock() {
        return [this] { return now.load(); };
    }
};

MigrationOrder move(LunId lun, ExtentIndex extent, TierId to, double benefit) {
    MigrationOrder o = move(extent, 0, to);
    o.lun = lun;
    o.net_benefit = benefit;
    return o;
}

// Many LUNs on one gateway: one executor (no workers: the test runs what the budget grants) over
// one budget on a fake clock.
struct GatewayRig {
    GatewayRig(double extents_per_s, unsigned max_concurrent, std::size_t workers = 0)
        : budget(std::make_shared<GatewayBudget>(extents_per_s * kE, max_concurrent,
                                                 workers == 0 ? clock.clock() : nullptr)),
          executor(std::make_shared<MigrationExecutor>(budget, workers)) {}
    // A LUN of `extents` extents, in `tenant`, planning `orders` every round.
    // `name`: its name among the tenant's LUNs in the tenant readings.
    Rounds& add(std::uint64_t extents, std::vector<MigrationOrder> orders,
                const std::string& tenant = "t", const std::string& name = "") {
        LunRoundsOptions options;
        options.lun = static_cast<LunId>(luns.size());
        options.executor = executor;
        options.tenant = tenant;
        options.name_in_tenant = name;
        for (MigrationOrder& o : orders) o.lun = options.lun;
        luns.push_back(std::make_unique<Rounds>(extents, std::move(orders), 0, options));
        return *luns.back();
    }
    FakeClock clock;
    std::shared_ptr<GatewayBudget> budget;
    std::shared_ptr<MigrationExecutor> executor;
    std::vector<std::unique_ptr<Rounds>> luns;  // destroyed before the executor
    ~GatewayRig() { luns.clear(); }
};

// 100 LUNs, each offering one order of a distinct benefit (in shuffled order: seed printed), and a
// budget of 5 extents now: the 5 granted and moved are the 5 best of the gateway, whichever LUN
// planned first; a second later the next 5 best.
TEST(LunRounds, TheBudgetGoesToTheGatewaysBestMovesAcrossLuns) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::vector<double> benefits(100);
    for (std::size_t i = 0; i < benefits.size(); ++i) benefits[i] = static_cast<double>(i + 1);
    std::shuffle(benefits.begin(), benefits.end(), std::mt19937(seed));
    GatewayRig g(/*extents_per_s=*/5, /*max_concurrent=*/5);
    for (const double b : benefits) g.add(1, {move(0, 0, 1, b)});
    for (auto& lun : g.luns) lun->rounds->run_round();
    auto moved = [&g] {
        std::multiset<double> out;
        for (std::size_t i = 0; i < g.luns.size(); ++i)
            if (g.luns[i]->storage.tier(0) == 1) out.insert(g.luns[i]->policy->benefit());
        return out;
    };
    EXPECT_EQ(g.executor->run_granted(), 5u);
    EXPECT_EQ(moved(), (std::multiset<double>{96, 97, 98, 99, 100}));
    g.clock.now += 1'000'000;  // five more extents of budget
    EXPECT_EQ(g.executor->run_granted(), 5u);
    EXPECT_EQ(moved(), (std::multiset<double>{91, 92, 93, 94, 95, 96, 97, 98, 99, 100}));
    // The rest waits in the queue, each LUN's order in its own queue().
    EXPECT_EQ(g.budget->stats().waiting, 90u);
    std::size_t queued = 0;
    for (auto& lun : g.luns) queued += lun->rounds->queue().size();
    EXPECT_EQ(queued, 90u);
}

// Tenants of equal weight share the budget equally, however many LUNs each has: a tenant with 10
// busy LUNs gets one share, not ten, against a tenant with one.
TEST(LunRounds, TenantsShareTheBudgetAcrossTheirLuns) {
    GatewayRig g(/*extents_per_s=*/2, /*max_concurrent=*/16);
    for (int l = 0; l < 10; ++l) {
        std::vector<MigrationOrder> orders;
        for (ExtentIndex e = 0; e < 20; ++e) orders.push_back(move(0, e, 1, 100.0 - l));
        g.add(20, orders, "big");
    }
    std::vector<MigrationOrder> orders;
    for (ExtentIndex e = 0; e < 20; ++e) orders.push_back(move(0, e, 1, 1));
    Rounds& small = g.add(20, orders, "small");
    for (auto& lun : g.luns) lun->rounds->run_round();
    for (int step = 0; step < 100; ++step) {  // 10 s of fake time
        g.clock.now += 100'000;
        g.executor->run_granted();
    }
    std::uint64_t big = 0;
    for (std::size_t i = 0; i + 1 < g.luns.size(); ++i) big += g.luns[i]->rounds->stats().moved;
    const std::uint64_t mine = small.rounds->stats().moved;
    EXPECT_EQ(big + mine, g.budget->stats().grants);
    EXPECT_GE(big + mine, 20u) << "the budget: 2 extents now and 2 a second for 10 s";
    EXPECT_LE(big > mine ? big - mine : mine - big, 1u) << "big " << big << ", small " << mine;
    // Within the big tenant the best LUN (benefit 100) went first.
    EXPECT_EQ(g.luns[0]->rounds->stats().moved, big);
}

// The tiers of the LUNs of `g`: the sum over them of their extents in tier `tier`.
std::uint64_t extents_in(const GatewayRig& g, TierId tier) {
    std::uint64_t total = 0;
    for (const auto& lun : g.luns)
        for (ExtentIndex e = 0; e < lun->storage.extents(); ++e)
            total += lun->storage.tier(e) == tier ? 1 : 0;
    return total;
}

// Every LUN of `g` reads its tenant's quota of `quota_extents` on nvme-a, measured on the cluster
// before any of them moved (nothing held anywhere yet).
void set_quota_reading(GatewayRig& g, std::uint64_t quota_extents) {
    TenantRoom room;
    room.tenant_found = true;
    room.quota["nvme-a"] = quota_extents * kE;
    ResourceReading reading;
    reading.tenant = room;
    for (auto& lun : g.luns) lun->storage.reading = reading;
}

// Two LUNs of one tenant on one gateway, a quota of 8 extents on nvme-a, each LUN wanting 6 there
// in the same resource interval: together they take the 8 and no more, whichever plans first.
TEST(LunRounds, TwoLunsOfATenantTogetherStayWithinItsQuota) {
    GatewayRig g(/*extents_per_s=*/1000, /*max_concurrent=*/16);
    const std::string tenant = "quota-two-luns";
    for (LunId lun = 0; lun < 2; ++lun) {
        std::vector<MigrationOrder> orders;
        for (ExtentIndex e = 0; e < 6; ++e) orders.push_back(move(lun, e, 1, 10.0 - e));
        g.add(10, orders, tenant);
    }
    set_quota_reading(g, 8);
    for (int round = 0; round < 3; ++round) {
        for (auto& lun : g.luns) lun->rounds->run_round();
        g.executor->run_granted();
    }
    std::uint64_t refused = 0;
    for (auto& lun : g.luns) refused += lun->rounds->stats().refused_tenant_quota;
    EXPECT_EQ(extents_in(g, 1), 8u) << "the tenant's quota is 8 extents on nvme-a";
    EXPECT_GE(refused, 4u);
}

// The tenant's reading names what each of its LUNs holds on the cluster: a LUN of this gateway
// counts once, as the ledger holds it (not again as measured), a LUN of another gateway as
// measured.
TEST(LunRounds, ATenantsLunOfThisGatewayIsNotCountedAgainAsMeasured) {
    GatewayRig g(/*extents_per_s=*/1000, /*max_concurrent=*/16);
    const std::string tenant = "quota-measured";
    Rounds& a = g.add(10, {}, tenant, "hdd-a/a");
    std::vector<MigrationOrder> orders;
    for (ExtentIndex e = 0; e < 6; ++e) orders.push_back(move(1, e, 1, 10.0 - e));
    Rounds& b = g.add(10, orders, tenant, "hdd-a/b");
    for (ExtentIndex e = 0; e < 3; ++e) a.storage.move_by_another_hand(e, 1);
    set_quota_reading(g, 8);
    // Measured on the cluster: a (this gateway's) holds 3 extents in nvme-a, c (another
    // gateway's) 2.
    for (auto& lun : g.luns)
        lun->storage.reading->tenant->luns = {{"hdd-a/a", {{"nvme-a", 3 * kE}}},
                                              {"hdd-b/c", {{"nvme-a", 2 * kE}}}};
    a.rounds->run_round();
    b.rounds->run_round();
    g.executor->run_granted();
    EXPECT_EQ(b.rounds->stats().moved, 3u) << "8 - (3 of a, here) - (2 of c, elsewhere)";
    EXPECT_EQ(extents_in(g, 1), 6u);
    EXPECT_EQ(b.rounds->effective_tiers()[1].capacity_bytes, 3 * kE) << "no more room";
}

// Four LUNs of one tenant carried out by two workers at once, each wanting the whole quota: the
// tenant never ends above it.
TEST(LunRounds, LunsOfATenantMigratingAtOnceStayWithinItsQuota) {
    GatewayRig g(/*extents_per_s=*/1000, /*max_concurrent=*/16, /*workers=*/2);
    const std::string tenant = "quota-four-luns";
    for (LunId lun = 0; lun < 4; ++lun) {
        std::vector<MigrationOrder> orders;
        for (ExtentIndex e = 0; e < 5; ++e) orders.push_back(move(lun, e, 1, 10.0 - e));
        g.add(8, orders, tenant);
    }
    set_quota_reading(g, 5);
    for (auto& lun : g.luns) lun->rounds->run_round();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto settled = [&g] {
        for (auto& lun : g.luns)
            if (!lun->rounds->queue().empty()) return false;
        return true;
    };
    while (!settled() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(settled()) << "orders still queued after 30 s";
    EXPECT_EQ(extents_in(g, 1), 5u) << "the tenant's quota is 5 extents on nvme-a";
}

// A LUN's next round withdraws its orders not started (the policy hears them dropped) and
// submits its new plan; a pause withdraws them too and nothing of the LUN starts while paused.
TEST(LunRounds, TheNextRoundAndAPauseWithdrawTheOrdersNotStarted) {
    GatewayRig g(/*extents_per_s=*/1, /*max_concurrent=*/4);
    Rounds& a = g.add(4, {move(0, 0, 1, 5), move(0, 1, 1, 4), move(0, 2, 1, 3)});
    Rounds& b = g.add(4, {move(0, 0, 1, 1)});
    a.rounds->run_round();
    b.rounds->run_round();
    EXPECT_EQ(g.executor->run_granted(), 1u);
    EXPECT_EQ(a.storage.migrations, (std::vector<ExtentIndex>{0}));
    EXPECT_EQ(a.rounds->queue().size(), 2u);
    a.rounds->run_round();  // the same plan: extent 0 is where it goes (dropped), 1 and 2 queued
    EXPECT_EQ(*a.policy->dropped_extents, (std::vector<ExtentIndex>{1, 2, 0}));
    EXPECT_EQ(g.budget->stats().waiting, 3u) << "a's 1 and 2 (once), b's 0";
    a.rounds->set_paused(true);
    EXPECT_TRUE(a.rounds->queue().empty());
    EXPECT_EQ(g.budget->stats().waiting, 1u);
    g.clock.now += 10'000'000;
    g.executor->run_granted();
    a.rounds->run_round();  // paused: plans nothing
    g.executor->run_granted();
    EXPECT_EQ(a.storage.migrations, (std::vector<ExtentIndex>{0})) << "moved while paused";
    EXPECT_EQ(b.storage.migrations, (std::vector<ExtentIndex>{0}));
}

// Holds every migration of a storage in progress (within migrate(), on the executor's worker)
// until release(); `first`, if set, is called first in each.
class HeldMigrations {
public:
    explicit HeldMigrations(FakeStorage& storage, std::function<void()> first = {}) {
        storage.on_migrate = [this, first = std::move(first)](ExtentIndex) {
            if (first) first();
            std::unique_lock lock(m_);
            started_ = true;
            cv_.notify_all();
            cv_.wait(lock, [this] { return released_; });
        };
    }
    // Whether a migration started within 30 s.
    bool started() {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, std::chrono::seconds(30), [this] { return started_; });
    }
    void release() {
        {
            std::lock_guard lock(m_);
            released_ = true;
        }
        cv_.notify_all();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool started_ = false;
    bool released_ = false;
};

// stop() of a LUN with a migration in progress on the executor's worker and more orders queued:
// it returns only after that migration ended, its queued orders are gone from the budget, and
// no migration of the LUN starts afterwards.
TEST(LunRounds, StopWithdrawsTheQueueAndWaitsForTheMigrationInProgress) {
    GatewayRig g(/*extents_per_s=*/1000, /*max_concurrent=*/4, /*workers=*/2);
    std::atomic<bool> stopped{false};
    std::atomic<int> after_stop{0};
    Rounds& a = g.add(4, {move(0, 0, 1, 5), move(0, 1, 1, 4), move(0, 2, 1, 3)});
    HeldMigrations held(a.storage, [&] {
        if (stopped.load()) ++after_stop;
    });
    a.rounds->run_round();
    ASSERT_TRUE(held.started()) << "no migration started";
    auto stopping = std::async(std::launch::async, [&] {
        a.rounds->stop();
        stopped.store(true);
    });
    // stop() withdraws the queued orders (granted or not) first: the queue keeps only the one in
    // progress, which holds the budget's only slot in use.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (a.rounds->queue().size() != 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    EXPECT_EQ(a.rounds->queue().size(), 1u);
    EXPECT_EQ(g.budget->stats().in_flight, 1u);
    EXPECT_FALSE(stopped.load()) << "stop() returned while the LUN was migrating";
    held.release();
    stopping.get();
    const auto s = g.budget->stats();
    EXPECT_EQ(s.in_flight, 0u);
    EXPECT_EQ(s.waiting, 0u) << "an order of the stopped LUN could still be granted";
    EXPECT_EQ(after_stop.load(), 0);
    EXPECT_EQ(a.storage.migrations, (std::vector<ExtentIndex>{0}));
}

// A round while the LUN's migration into nvme-a is in progress on the executor's worker: the
// policy's view lists it and counts its destination in nvme-a's use (the admission reserved it
// when it started).
TEST(LunRounds, ThePolicysViewShowsTheMigrationInProgress) {
    GatewayRig g(/*extents_per_s=*/1000, /*max_concurrent=*/4, /*workers=*/1);
    Rounds& a = g.add(4, {move(0, 2, 1, 5)});
    HeldMigrations held(a.storage);
    a.rounds->run_round();
    ASSERT_TRUE(held.started()) << "no migration started";
    a.rounds->run_round();
    held.release();
    a.rounds->stop();
    EXPECT_EQ(*a.policy->planned_with, (std::vector<std::uint64_t>{0, 1}));
    EXPECT_EQ(*a.policy->in_flight, (std::vector<std::vector<ExtentIndex>>{{}, {2}}));
    EXPECT_EQ(a.storage.tier(2), 1u);
}

// A round of a LUN another gateway owns moves nothing and says so.
TEST(LunRounds, MovesNothingWhereAnotherGatewayOwnsTheLun) {
    LunRoundsOptions options;
    options.may_plan = [] { return false; };
    Rounds r(2, {move(0, 0, 1)}, 0, options);
    r.rounds->run_round();
    EXPECT_TRUE(r.storage.migrations.empty());
    EXPECT_EQ(r.rounds->stats().rounds_not_owner, 1u);
    EXPECT_EQ(r.rounds->stats().rounds, 1u);
    EXPECT_EQ(r.rounds->stats().last_round, RoundOutcome::kNotOwner);
}

// A round asks whether it may move extents (for the live gateway a round trip to the cluster)
// only when it has something to move: an idle LUN's rounds ask nothing; a round with orders asks
// once, and its orders wait for the answer: a "no" drops them (the policy hears so) and the
// round moved nothing because another gateway owns the LUN.
TEST(LunRounds, OnlyARoundWithSomethingToMoveAsksWhetherItMay) {
    int asked = 0;
    bool may = true;
    LunRoundsOptions options;
    options.may_migrate = [&] {
        ++asked;
        return may;
    };
    Rounds idle(4, {}, 0, options);
    for (int round = 0; round < 3; ++round) idle.rounds->run_round();
    EXPECT_EQ(asked, 0) << "rounds with nothing to move asked the cluster";
    EXPECT_EQ(idle.rounds->stats().last_round, RoundOutcome::kNothingToMove);

    Rounds busy(4, {move(0, 0, 1), move(1, 0, 1)}, 0, options);
    may = false;
    busy.rounds->run_round();
    EXPECT_EQ(asked, 1);
    EXPECT_TRUE(busy.storage.migrations.empty());
    EXPECT_EQ(*busy.policy->dropped_extents, (std::vector<ExtentIndex>{0, 1}));
    EXPECT_EQ(busy.rounds->stats().rounds_not_owner, 1u);
    EXPECT_EQ(busy.rounds->stats().last_round, RoundOutcome::kNotOwner);
    may = true;
    busy.rounds->run_round();
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(busy.storage.migrations, (std::vector<ExtentIndex>{0, 1}));
}

// Orders queued while this gateway owned the LUN, granted after it lost the LUN (its lock was
// released) and before the next round asks again: they are dropped when they would start (the
// policy hears so), never handed to the storage, and no migration is counted failed.
TEST(LunRounds, OrdersQueuedBeforeTheLunWasLostAreDroppedNotFailed) {
    GatewayRig g(/*extents_per_s=*/1, /*max_concurrent=*/4);
    Rounds& a = g.add(4, {move(0, 0, 1, 5), move(0, 1, 1, 4), move(0, 2, 1, 3)});
    a.rounds->run_round();
    EXPECT_EQ(g.executor->run_granted(), 1u);
    EXPECT_EQ(a.rounds->queue().size(), 2u);
    a.storage.owner = false;
    for (int second = 0; second < 3; ++second) {
        g.clock.now += 1'000'000;
        g.executor->run_granted();
    }
    EXPECT_TRUE(a.rounds->queue().empty());
    EXPECT_EQ(a.storage.migrations, (std::vector<ExtentIndex>{0}));
    const auto stats = a.rounds->stats();
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_EQ(stats.moved, 1u);
    EXPECT_EQ(a.rounds->history().size(), 1u);
    EXPECT_EQ(*a.policy->dropped_extents, (std::vector<ExtentIndex>{1, 2}));
    EXPECT_EQ(g.budget->stats().in_flight, 0u);
}

// The last round's outcome: what moved it, or what kept it still.
TEST(LunRounds, KeepsWhatTheLastRoundDidOrWhyItMovedNothing) {
    Rounds still(2, {});
    EXPECT_EQ(still.rounds->stats().last_round, RoundOutcome::kNoRound);
    still.rounds->run_round();
    EXPECT_EQ(still.rounds->stats().last_round, RoundOutcome::kNothingToMove);
    still.rounds->set_paused(true);
    still.rounds->run_round();
    EXPECT_EQ(still.rounds->stats().last_round, RoundOutcome::kPaused);

    Rounds moving(2, {move(0, 0, 1)});
    moving.rounds->run_round();
    EXPECT_EQ(moving.rounds->stats().last_round, RoundOutcome::kMoved);

    Rounds full(2, {move(0, 0, 1), move(1, 0, 1)}, /*nvme_a_extents=*/1);
    full.rounds->run_round();  // extent 0 moves, extent 1 is refused
    EXPECT_EQ(full.rounds->stats().last_round, RoundOutcome::kMoved);
    full.rounds->run_round();  // extent 0 is there already, extent 1 still refused
    EXPECT_EQ(full.rounds->stats().last_round, RoundOutcome::kRefused);

    Rounds failing(2, {move(0, 0, 1)});
    failing.storage.fail = {0};
    failing.rounds->run_round();
    EXPECT_EQ(failing.rounds->stats().last_round, RoundOutcome::kFailed);
    EXPECT_STREQ(to_string(RoundOutcome::kNotOwner), "not_owner");
}

// Measured: the tiers' latencies the policy plans with are those the LUN's commands met there.

// Plans the orders put in `next` (once each) and keeps the tiers of each plan()'s view.
class TierWatcher : public PlacementPolicy {
public:
    std::string_view name() const override { return "tier watcher"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView& view) override {
        seen->push_back(view.tiers());
        return std::exchange(*next, {});
    }

    std::shared_ptr<std::vector<MigrationOrder>> next =
        std::make_shared<std::vector<MigrationOrder>>();
    std::shared_ptr<std::vector<std::vector<TierSpec>>> seen =
        std::make_shared<std::vector<std::vector<TierSpec>>>();
};

// hdd-a 8 ms, nvme-a 0.2 ms, nvme-b 1.2 ms, hdd-b 10 ms, as discovered or configured.
std::vector<TierSpec> configured_tiers() {
    std::vector<TierSpec> specs = tiers();
    const double latency_us[] = {8000, 200, 1200, 10000};
    for (std::size_t t = 0; t < specs.size(); ++t)
        specs[t].read_latency_us = specs[t].write_latency_us = latency_us[t];
    return specs;
}

// `n` commands of `op` on `extent`, each served in `latency_us` and completed at `time_us`.
void served(LunRounds& rounds, int n, IoOp op, ExtentIndex extent, std::uint32_t latency_us,
            std::uint64_t time_us) {
    for (int i = 0; i < n; ++i)
        rounds.record(test_events::io_at(time_us, extent,
                                         {.within = 4096u * static_cast<std::uint64_t>(i % 16),
                                          .op = op,
                                          .latency_us = latency_us}));
}

// The rounds of a LUN of 8 extents at home (extent 1 in nvme-a if `one_in_nvme_a`) over the
// configured tiers, planned by a TierWatcher.
struct Watched {
    explicit Watched(bool one_in_nvme_a = false) : storage(8) {
        if (one_in_nvme_a) storage.move_by_another_hand(1, 1);
        auto watcher = std::make_unique<TierWatcher>();
        seen = watcher->seen;
        next = watcher->next;
        rounds = std::make_unique<LunRounds>(storage, configured_tiers(), std::move(watcher),
                                             LunRoundsOptions{});
    }
    FakeStorage storage;
    std::shared_ptr<std::vector<std::vector<TierSpec>>> seen;
    std::shared_ptr<std::vector<MigrationOrder>> next;
    std::unique_ptr<LunRounds> rounds;
};

TEST(LunRounds, ThePolicySeesTheTiersLatenciesAsTheLunsCommandsMetThem) {
    Watched w(true);
    LunRounds& rounds = *w.rounds;
    const auto& seen = w.seen;
    served(rounds, 200, IoOp::kRead, 0, 9'000, 1);
    served(rounds, 200, IoOp::kWrite, 0, 30'000, 1);
    served(rounds, 200, IoOp::kRead, 1, 1'000, 1);
    served(rounds, 200, IoOp::kUnmap, 1, 90'000, 1);  // no data served: not a latency
    rounds.run_round();
    ASSERT_EQ(seen->size(), 1u);
    const std::vector<TierSpec>& t = seen->back();
    EXPECT_DOUBLE_EQ(t[0].read_latency_us, 9'000) << "hdd-a's reads as measured";
    EXPECT_DOUBLE_EQ(t[0].write_latency_us, 30'000) << "hdd-a's writes as measured";
    EXPECT_DOUBLE_EQ(t[1].read_latency_us, 1'000) << "nvme-a's reads as measured";
    EXPECT_DOUBLE_EQ(t[1].write_latency_us, 200) << "no write measured there: as configured";
    EXPECT_DOUBLE_EQ(t[2].read_latency_us, 1200) << "nothing served there: as configured";
    EXPECT_DOUBLE_EQ(rounds.effective_tiers()[0].read_latency_us, 9'000);
    EXPECT_DOUBLE_EQ(rounds.tiers()[0].read_latency_us, 8000) << "the tiers as configured";
}

// A busy nvme-a measured slower than idle nvme-b's configured figure: the policies would rank
// nvme-b first and move data there on a comparison of unlike figures. The reads stay as
// configured; the writes, which rank nothing, are taken. Large commands measure transfers, not
// accesses: not counted.
TEST(LunRounds, MeasuredReadsThatWouldReorderTheTiersAreNotUsed) {
    Watched w(true);
    served(*w.rounds, 200, IoOp::kRead, 1, 3'000, 1);
    served(*w.rounds, 200, IoOp::kWrite, 1, 4'000, 1);
    w.rounds->run_round();
    EXPECT_DOUBLE_EQ(w.seen->back()[1].read_latency_us, 200) << "as configured";
    EXPECT_DOUBLE_EQ(w.seen->back()[1].write_latency_us, 4'000);
    for (int i = 0; i < 200; ++i)
        w.rounds->record(test_events::io_at(2, 0, {.length = 1 << 20, .latency_us = 90'000}));
    w.rounds->run_round();
    EXPECT_DOUBLE_EQ(w.seen->back()[0].read_latency_us, 8000) << "1 MiB reads: not counted";
}

TEST(LunRounds, AFewCommandsLeaveTheConfiguredLatency) {
    Watched w;
    LunRounds& rounds = *w.rounds;
    const auto& seen = w.seen;
    served(rounds, static_cast<int>(LunMeasurements::kMinIoSamples) - 1, IoOp::kRead, 0, 9'000, 1);
    rounds.run_round();
    EXPECT_DOUBLE_EQ(seen->back()[0].read_latency_us, 8000) << "too few samples";
    served(rounds, 1, IoOp::kRead, 0, 9'000, 2);
    rounds.run_round();
    EXPECT_DOUBLE_EQ(seen->back()[0].read_latency_us, 9'000) << "enough samples";
}

// A command that completed before its extent moved was served by the tier the extent left.
TEST(LunRounds, ACommandCountsForTheTierItsExtentWasInWhenItCompleted) {
    Watched w;
    LunRounds& rounds = *w.rounds;
    const auto& seen = w.seen;
    FakeStorage& storage = w.storage;
    *w.next = {move(2, 0, 1)};
    rounds.run_round();  // extent 2 moves to nvme-a at the end of the round
    ASSERT_EQ(storage.tier(2), 1u);
    served(rounds, 100, IoOp::kRead, 2, 9'000, 0);  // completed before the move
    rounds.run_round();
    EXPECT_DOUBLE_EQ(seen->back()[0].read_latency_us, 9'000) << "served by hdd-a";
    EXPECT_DOUBLE_EQ(seen->back()[1].read_latency_us, 200) << "nothing served by nvme-a";
    served(rounds, 100, IoOp::kRead, 2, 1'000, rounds.now_us() + 1);  // after the move
    rounds.run_round();
    EXPECT_DOUBLE_EQ(seen->back()[1].read_latency_us, 1'000) << "served by nvme-a";
}

// The tier a LUN's policy is told of as discovery found its pool: `device_class` media at site-a
// and one round trip of `probe_us`.
LunTier probed(const char* name, const char* device_class, double probe_us) {
    LunTier t;
    t.discovered.name = name;
    t.discovered.device_class = device_class;
    t.discovered.site = "site-a";
    t.discovered.read_latency_us = t.discovered.write_latency_us = probe_us;
    return t;
}

// A LUN opened on a loaded machine: discovery's one round trip per pool found nvme-a slower than
// its home on hdd-a. The LUN's commands then measure both tiers in their media's order, hdd-a
// several times slower: the policy plans with those figures and promotes what hdd-a serves.
TEST(LunRounds, AProbeThatMisordersTheMediaAtOpenDoesNotKeepTheLunUntiered) {
    const std::vector<LunTier> discovered = {probed("hdd-a", "hdd", 14'270),
                                             probed("nvme-a", "nvme", 15'620)};
    LunPolicySettings settings;
    settings.extent_bytes = kE;
    const StorageModel config = lun_policy_config(discovered, settings);
    std::vector<TierSpec> specs;
    for (const TierModel& model : config.tiers) specs.push_back(model.spec);
    FakeStorage storage(8);
    storage.move_by_another_hand(7, 1);  // nvme-a serves extent 7
    LunRounds rounds(storage, specs,
                     builtin_policy_registry().create("reactive", PolicyContext{config, {}}),
                     LunRoundsOptions{});
    const int n = static_cast<int>(LunMeasurements::kMinIoSamples);
    for (int round = 0; round < 3 && storage.tier(0) == 0; ++round) {
        served(rounds, n, IoOp::kRead, 0, 70'000, rounds.now_us());
        served(rounds, n, IoOp::kRead, 7, 15'000, rounds.now_us());
        rounds.run_round();
    }
    const std::vector<TierSpec> planned = rounds.effective_tiers();
    EXPECT_DOUBLE_EQ(planned[0].read_latency_us, 70'000) << "hdd-a's reads as measured";
    EXPECT_DOUBLE_EQ(planned[1].read_latency_us, 15'000) << "nvme-a's reads as measured";
    EXPECT_EQ(storage.tier(0), 1) << "extent 0, read at hdd-a, promoted to nvme-a";
    EXPECT_EQ(rounds.stats().moved, 1u);
}

// Keeps every channel it is told too.
class ChannelWatcher final : public TierWatcher {
public:
    void channel_changed(const ChannelSpec& channel, std::uint64_t) override {
        channels->push_back(channel);
    }
    std::shared_ptr<std::vector<ChannelSpec>> channels =
        std::make_shared<std::vector<ChannelSpec>>();
};

// The policy plans with the channel the LUN's migrations really have: one at a time, at the rate
// they ran at (here at least 40 ms an extent: at most 100 MiB/s, a tenth of the budget's).
TEST(LunRounds, ThePolicyIsToldTheChannelItsMigrationsRunAt) {
    constexpr double kBudget = 1024.0 * (1 << 20);
    constexpr auto kCopy = std::chrono::milliseconds(40);
    const double most = static_cast<double>(kE) / 0.040;
    FakeStorage storage(8);
    storage.on_migrate = [kCopy](ExtentIndex) { std::this_thread::sleep_for(kCopy); };
    auto watcher = std::make_unique<ChannelWatcher>();
    const auto channels = watcher->channels;
    const auto next = watcher->next;
    LunRoundsOptions options;
    options.bandwidth_bytes_per_s = kBudget;
    LunRounds rounds(storage, configured_tiers(), std::move(watcher), options);
    const auto n = LunMeasurements::kMinMigrationSamples;
    for (ExtentIndex e = 0; e + 1 < n; ++e) next->push_back(move(e, 0, 1));
    rounds.run_round();
    rounds.run_round();
    EXPECT_EQ(storage.migrations.size(), n - 1);
    EXPECT_TRUE(channels->empty()) << "too few migrations to tell the rate";
    *next = {move(n - 1, 0, 1)};
    rounds.run_round();
    rounds.run_round();
    ASSERT_EQ(channels->size(), 1u);
    const ChannelSpec& told = channels->back();
    EXPECT_EQ(told.max_concurrent, MigrationExecutor::kMigrationsPerLun);
    EXPECT_EQ(told.extent_bytes, kE);
    EXPECT_GT(told.bandwidth_bytes_per_s, 0);
    EXPECT_LE(told.bandwidth_bytes_per_s, most) << "the rate the migrations ran at";
    rounds.run_round();
    EXPECT_EQ(channels->size(), 1u) << "nothing changed: told once";

    // A policy put in later is told at its first round.
    auto replacement = std::make_unique<ChannelWatcher>();
    const auto told_later = replacement->channels;
    rounds.replace_policy(std::move(replacement), rounds.round_us());
    rounds.run_round();
    ASSERT_EQ(told_later->size(), 1u);
    EXPECT_DOUBLE_EQ(told_later->back().bandwidth_bytes_per_s, told.bandwidth_bytes_per_s);
}

// The policy configuration of a live tiered LUN `lun` (home hdd, two tier pools, as a LUN of
// bench/scale) with a horizon of `horizon_s`, as lun_policy_config makes it from discovery.
StorageModel tiered_lun_model(LunId lun, double horizon_s = 120) {
    std::vector<TierSpec> discovered = configured_tiers();
    discovered.resize(3);
    std::vector<LunTier> lun_tiers(discovered.size());
    const char* classes[] = {"hdd", "nvme", "ssd"};
    for (std::size_t t = 0; t < lun_tiers.size(); ++t) {
        lun_tiers[t].discovered = discovered[t];
        lun_tiers[t].discovered.device_class = classes[t];
        lun_tiers[t].discovered.site = "site-a";
    }
    LunPolicySettings settings;
    settings.local_site = "site-a";
    settings.extent_bytes = kE;
    settings.lun = lun;
    settings.horizon_s = horizon_s;
    return lun_policy_config(lun_tiers, settings);
}

std::vector<TierSpec> tier_specs(const StorageModel& model) {
    std::vector<TierSpec> specs;
    for (const TierModel& t : model.tiers) specs.push_back(t.spec);
    return specs;
}

// The engine side of an idle tiered LUN (its rounds and policy "predictive", made as a live LUN
// makes it, with the gateway's executor), after rounds without I/O: what only a LUN with I/O uses
// (the strategy selector, its candidates and their copies of the configuration) is not made yet,
// nor what only a LUN that migrates uses (its migration history).
TEST(LunRounds, AnIdleTieredLunsRoundsAndPolicyHoldLittleBeforeItsFirstIo) {
    if (!test_support::heap_bytes_counted())
        GTEST_SKIP() << "the heap is not counted here (a sanitizer's allocator)";
    const auto registry = builtin_policy_registry();
    const StorageModel model = tiered_lun_model(7);
    const std::vector<TierSpec> specs = tier_specs(model);
    LunRoundsOptions options;
    options.lun = 7;
    options.executor = std::make_shared<MigrationExecutor>(
        std::make_shared<GatewayBudget>(options.bandwidth_bytes_per_s, 4), 4);
    FakeStorage storage(25'600);  // 100 GiB
    const auto idle_lun = [&] {
        auto rounds = std::make_unique<LunRounds>(
            storage, specs, registry.create("predictive", {model, {}}), options);
        for (int r = 0; r < 3; ++r) rounds->run_round();
        return rounds;
    };
    const auto first = idle_lun();  // sets up what the process shares
    const std::size_t before = test_support::heap_bytes();
    const auto idle = idle_lun();
    const std::size_t held = test_support::heap_bytes() - before;
    std::cout << "rounds and policy predictive of an idle tiered LUN: " << held << " bytes\n";
    EXPECT_LE(held, 5u * 1024);
    EXPECT_TRUE(idle->history().empty());
}

// Rounds that plan nothing (paused, or the LUN another gateway's) still hand the LUN's I/O to its
// policy "predictive", and what the policy shows of it (`rbdtier heat`) follows that I/O: an
// extent read only since the rounds stopped planning is known and hot, not unknown or cold.
TEST(LunRounds, WhatThePolicyShowsFollowsTheIoOfRoundsThatPlanNothing) {
    const StorageModel model = tiered_lun_model(0, /*horizon_s=*/2);  // 1 s buckets
    for (const bool paused : {true, false}) {
        SCOPED_TRACE(paused ? "paused" : "another gateway owns the LUN");
        FakeStorage storage(8);
        bool owner = true;
        LunRoundsOptions options;
        options.may_plan = [&owner] { return owner; };
        LunRounds rounds(storage, tier_specs(model),
                         builtin_policy_registry().create("predictive", {model, {}}), options);
        const std::uint64_t start = rounds.now_us();
        served(rounds, 16, IoOp::kRead, 0, 0, start);
        rounds.run_round();  // the policy is made, and plans
        if (paused)
            rounds.set_paused(true);
        else
            owner = false;
        // A minute on: far more than the policy's twelve buckets after the last round that planned.
        const std::uint64_t later = start + 60'000'000;
        served(rounds, 16, IoOp::kRead, 1, 0, later);
        rounds.run_round();
        EXPECT_EQ(rounds.stats().last_round,
                  paused ? RoundOutcome::kPaused : RoundOutcome::kNotOwner);
        std::optional<ExtentOutlook> read, idle;
        rounds.inspect([&](const PlacementPolicy& policy, const PlacementView&) {
            read = policy.outlook(0, 1, later);
            idle = policy.outlook(0, 0, later);
        });
        ASSERT_TRUE(read.has_value()) << "extent 1, read since, unknown to the policy";
        EXPECT_GT(read->recent_accesses, 0) << "extent 1 is hot";
        ASSERT_TRUE(idle.has_value());
        EXPECT_EQ(idle->recent_accesses, 0) << "extent 0, idle for a minute, is cold";
    }
}

// A LUN with no I/O that plans nothing plans at most once a second, however short its round: a
// live LUN's round asks the cluster whether it may migrate, and four rounds a second of every idle
// LUN would cost the gateway four times the requests for nothing. (Upper bounds only: a loaded
// machine delays rounds, never hastens them.)
TEST(LunRounds, AQuietLunPlansAtMostOnceASecondWhateverItsRound) {
    LunRoundsOptions options;
    options.round_us = 100'000;
    options.driver = std::make_shared<RoundDriver>(1);
    Rounds r(4, {}, 0, options);
    r.rounds->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    r.rounds->stop();
    EXPECT_LE(r.rounds->stats().rounds, 2u) << "rounds of a quiet LUN in 1.5 s";
}

// A round that handed the policy I/O or submitted an order is followed by the next after the
// LUN's round; a quiet one (neither) after a second at least (a longer round stays as it is).
TEST(LunRounds, OnlyAQuietRoundPutsTheNextOneASecondAway) {
    LunRoundsOptions options;
    options.round_us = 250'000;
    Rounds r(4, {move(1, 0, 1)}, 0, options);
    EXPECT_EQ(r.rounds->run_round(), 250'000u) << "its order was submitted (and moved)";
    EXPECT_EQ(r.rounds->run_round(), LunRounds::kQuietRoundUs)
        << "the order is stale now (dropped, not submitted), and no I/O";
    served(*r.rounds, 1, IoOp::kRead, 2, 0, r.rounds->now_us());
    EXPECT_EQ(r.rounds->run_round(), 250'000u) << "a round with I/O";
    EXPECT_EQ(r.rounds->run_round(), LunRounds::kQuietRoundUs);
    r.rounds->replace_policy(std::make_unique<ScriptedPolicy>(std::vector<MigrationOrder>{}),
                             2'000'000);
    EXPECT_EQ(r.rounds->run_round(), 2'000'000u) << "a round longer than a second stays";
}

}  // namespace
}  // namespace rbdtier
