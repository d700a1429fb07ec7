// TieringEngine end to end against a tiny in-test executor: moves ahead of predictable access,
// stays put when nothing is predictable, keeps anomalous scans out of the fast tier, plans
// against its own placement when it shares its AccessForecast with another planner, forgets idle
// extents and keeps the hot ones' statistics, and takes the I/O its policy observes without the
// profiler's rings.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <memory>
#include <random>

#include "engine/access_forecast.h"
#include "engine/predictive_policy.h"
#include "tests/support/heap_bytes.h"
#include "tests/support/instant_executor.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::io_at;
using test_events::IoShape;
using test_events::kE;
using test_support::InstantExecutor;

// The I/Os of these tests: 64 KiB reads of LUN 1, from initiator 1 unless said.
constexpr IoShape kIo{.length = 65536, .lun = 1, .initiator = 1};

EngineConfig config(std::uint64_t fast_extents) {
    EngineConfig c;
    c.tiers = {{0, "nvme-a", "nvme", "site-a", 200, 200, fast_extents * kE, 10},
               {1, "hdd-a", "hdd", "site-a", 8000, 8000, 0, 1}};
    c.horizon_us = 60'000'000;
    c.bucket_us = 10'000'000;
    c.threads = 2;
    return c;
}

// Reads of random extents among 20,000, `per_second` a second evenly spaced, for `seconds`
// seconds from 0, each from the initiator `initiator()` names; a round at the end of each second.
void serve_random_reads(PlacementPolicy& policy, InstantExecutor& ex, std::mt19937_64& rng,
                        std::uint64_t seconds, std::uint64_t per_second,
                        const std::function<InitiatorId()>& initiator) {
    for (std::uint64_t sec = 0; sec < seconds; ++sec) {
        for (std::uint64_t i = 0; i < per_second; ++i) {
            const ExtentIndex x = rng() % 20000;
            ex.serve(policy, io_at(sec * 1'000'000 + i * (1'000'000 / per_second), x,
                                   kIo.from(initiator())));
        }
        ex.run_round(policy, (sec + 1) * 1'000'000);
    }
}

TEST(TieringEngine, AlternatingPeriodicHotSetsArePromotedAhead) {
    PredictivePolicy policy(config(40));
    InstantExecutor ex(config(40).tiers);
    std::mt19937_64 rng(42);
    const std::uint64_t period = 300, burst = 60;
    std::uint64_t burst_ios = 0, burst_hits = 0, early_ios = 0, early_hits = 0;
    for (std::uint64_t sec = 0; sec < 10 * period; ++sec) {
        const std::uint64_t phase = sec % period;
        const bool measure = sec >= 6 * period;
        for (int i = 0; i < 400; ++i) {
            const std::uint64_t t = sec * 1'000'000 + static_cast<std::uint64_t>(i) * 2500;
            IoEvent e;
            bool in_burst = false;
            if (phase < burst && i % 2 == 0) {
                e = io_at(t, 1000 + rng() % 32, kIo), in_burst = true;  // hot set A
            } else if (phase >= 150 && phase < 150 + burst && i % 2 == 0) {
                e = io_at(t, 5000 + rng() % 32, kIo), in_burst = true;  // hot set B
            } else if (i % 20 == 0) {
                e = io_at(t, rng() % 20000, kIo.from(2));  // background
            } else {
                continue;
            }
            const bool hit = ex.serve(policy, e);
            if (measure && in_burst) {
                ++burst_ios, burst_hits += hit;
                if (phase % 150 < 5) ++early_ios, early_hits += hit;
            }
        }
        ex.run_round(policy, (sec + 1) * 1'000'000);
    }
    const double share = static_cast<double>(burst_hits) / static_cast<double>(burst_ios);
    const double early = static_cast<double>(early_hits) / static_cast<double>(early_ios);
    EXPECT_GT(share, 0.9);
    EXPECT_GT(early, 0.8) << "hot sets must be in the fast tier when their burst starts";
    const auto& eng = policy.engine();
    EXPECT_EQ(eng.outlooks().at(1).period_buckets, 15u);  // A and B: a 150 s season
    EXPECT_GT(eng.feedback().total().precision(), 0.4);
    EXPECT_GT(eng.feedback().total().recall(), 0.3);
    EXPECT_EQ(eng.stats().dropped, 0u);
    EXPECT_LE(ex.refused, 1u);
}

// `seconds` of 64 reads a second over extents 0-31 (a hot set that fits any fast tier of 32
// extents), a round at the end of each second.
void serve_small_hot_set(PlacementPolicy& policy, InstantExecutor& ex, std::uint64_t seconds) {
    for (std::uint64_t sec = 0; sec < seconds; ++sec) {
        for (int i = 0; i < 64; ++i)
            ex.serve(policy,
                     io_at(sec * 1'000'000 + static_cast<std::uint64_t>(i) * 10'000, i % 32, kIo));
        ex.run_round(policy, (sec + 1) * 1'000'000);
    }
}

// The executor's view narrows a tier (a full pool, a tenant at its quota): the engine plans no
// more than fits, instead of orders the executor would refuse.
TEST(TieringEngine, PlansWithinTheCapacityTheViewShows) {
    PredictivePolicy policy(config(40));
    std::vector<TierSpec> narrowed = config(40).tiers;
    narrowed[0].capacity_bytes = 4 * kE;
    InstantExecutor ex(narrowed);
    serve_small_hot_set(policy, ex, 600);
    EXPECT_EQ(ex.migrations, 4u) << "four extents fit";
    EXPECT_EQ(ex.refused, 0u) << "no order for what does not fit";
}

// The executor's view measures the tiers' latencies (a live LUN's measured ones): the engine
// plans with those, not the configured ones, so a "fast" tier measured slower than home gets no
// promotion.
TEST(TieringEngine, PlansWithTheLatenciesTheViewMeasures) {
    PredictivePolicy policy(config(40));
    std::vector<TierSpec> measured = config(40).tiers;
    measured[0].read_latency_us = 20'000;
    measured[0].write_latency_us = 30'000;
    InstantExecutor ex(measured);
    serve_small_hot_set(policy, ex, 300);
    EXPECT_DOUBLE_EQ(policy.engine().resources().access_latency_us(0), 20'000);
    EXPECT_DOUBLE_EQ(policy.engine().resources().access_latency_us(0, 1.0), 30'000);
    EXPECT_EQ(ex.migrations, 0u) << "nothing gains from the measured-slow tier";
}

// An executor that holds the engine's orders longer than the engine would wait for a report (a
// slow copy, a budget that grants late) shows them in its view: while they are held, the engine
// orders neither their extents again nor more than the tenant's quota holds.
TEST(TieringEngine, OrdersTheExecutorHoldsAreNotOrderedAgainNorLeftOutOfTheQuota) {
    EngineConfig c = config(40);
    c.tenants = {TenantSpec{"small", {{0, 4 * kE}}, 1.0, 1.0}};
    c.lun_tenant = {{1, 0}};
    PredictivePolicy policy(c);
    InstantExecutor ex(c.tiers);
    std::size_t ordered = 0;
    for (std::uint64_t sec = 0; sec < 120; ++sec) {
        for (int i = 0; i < 64; ++i)
            ex.serve(policy,
                     io_at(sec * 1'000'000 + static_cast<std::uint64_t>(i) * 10'000, i % 16, kIo));
        for (const MigrationOrder& o : policy.plan((sec + 1) * 1'000'000, ex)) {
            ++ordered;
            EXPECT_LE(ordered, 4u) << "at " << sec + 1 << " s: extent " << o.extent;
            ex.hold(o);
        }
    }
    EXPECT_EQ(ordered, 4u) << "the quota's four extents";
    EXPECT_EQ(policy.engine().scheduler_stats().expired, 0u);
    ex.finish_held(policy, 121'000'000);
    EXPECT_EQ(ex.migrations, 4u);
    EXPECT_EQ(ex.refused, 0u);
}

TEST(TieringEngine, UniformRandomDoesNotMigrateForNothing) {
    PredictivePolicy policy(config(40));
    InstantExecutor ex(config(40).tiers);
    std::mt19937_64 rng(7);
    serve_random_reads(policy, ex, rng, 1200, 100,
                       [&rng] { return static_cast<InitiatorId>(1 + rng() % 4); });
    // 120k I/Os spread over 20k extents: some extents look hot by chance, but the forecasts
    // prove no better than the base rate: the 40 fast slots are filled once, nothing is swapped.
    EXPECT_LE(ex.migrations, 50u);
    EXPECT_TRUE(policy.engine().alerts().empty());
}

TEST(TieringEngine, RecurringBackupScanIsPrefetched) {
    PredictivePolicy policy(config(4000));
    InstantExecutor ex(config(4000).tiers);
    std::uint64_t ios = 0, hits = 0;
    // 16 I/Os of 256 KiB per extent, 5 extents/s, over 600 extents; one pass per 300 s.
    for (std::uint64_t sec = 0; sec < 600; ++sec) {
        const std::uint64_t phase = sec % 300;
        for (int i = 0; i < 80; ++i) {
            if (phase >= 120) break;
            const std::uint64_t pos = phase * 80 + i;
            const IoEvent e =
                io_at(sec * 1'000'000 + i * 12'500, pos / 16,
                      {.within = (pos % 16) << 18, .length = 1 << 18, .lun = 1, .initiator = 9});
            const bool hit = ex.serve(policy, e);
            if (sec >= 300) ++ios, hits += hit;
        }
        ex.run_round(policy, (sec + 1) * 1'000'000);
    }
    EXPECT_GT(static_cast<double>(hits) / static_cast<double>(ios), 0.6);
    EXPECT_GT(policy.engine().feedback().by_model(ModelId::kScan).promotions, 100u);
}

TEST(TieringEngine, AnomalousScanDoesNotPolluteTheFastTier) {
    PredictivePolicy policy(config(4000));
    InstantExecutor ex(config(4000).tiers);
    std::mt19937_64 rng(3);
    // Initiator 5 does random reads for 120 s, then reads 3000 extents sequentially (fast).
    serve_random_reads(policy, ex, rng, 120, 50, [] { return InitiatorId{5}; });
    const std::uint64_t before = ex.migrations;
    for (std::uint64_t sec = 120; sec < 135; ++sec) {
        for (int i = 0; i < 200; ++i)
            ex.serve(policy, io_at(sec * 1'000'000 + i * 5000, (sec - 120) * 200 + i, kIo.from(5)));
        ex.run_round(policy, (sec + 1) * 1'000'000);
    }
    ASSERT_FALSE(policy.engine().alerts().empty());
    EXPECT_EQ(policy.engine().alerts()[0].kind, AnomalyKind::kScan);
    EXPECT_EQ(policy.engine().alerts()[0].initiator, 5u);
    EXPECT_LE(ex.migrations - before, 2u);
}

// An executor that refuses every order never calls migrated(): the engine must not keep
// remembering those orders (it forgets them once the scheduler expires them).
// A placement set by another hand (another gateway's moves found on a takeover): the engine
// reads where the LUN's extents are from the view, forgetting what it recorded before.
TEST(TieringEngine, PlacementChangedIsReadFromTheView) {
    InstantExecutor view(config(4).tiers, 1, 6);
    PredictivePolicy policy(config(4));
    MigrationOrder own;  // a move of its own, recorded as usual
    own.lun = 1;
    own.extent = 4;
    own.from = 1;
    own.to = 0;
    policy.migrated(own, 0);
    ASSERT_EQ(policy.engine().placement().tier_of(make_extent_key(1, 4), 1), 0);

    view.place(1, 2, 0);
    view.place(1, 3, 0);
    policy.placement_changed(1, 10, view);
    const PlacementState& placement = policy.engine().placement();
    EXPECT_EQ(placement.away().size(), 2u);
    EXPECT_EQ(placement.tier_of(make_extent_key(1, 2), 1), 0);
    EXPECT_EQ(placement.tier_of(make_extent_key(1, 3), 1), 0);
    EXPECT_EQ(placement.tier_of(make_extent_key(1, 4), 1), 1) << "moved home by another hand";

    view.place(1, 2, 1);
    view.place(1, 3, 1);
    view.place(1, 5, 0);
    policy.placement_changed(1, 20, view);
    EXPECT_EQ(placement.away().size(), 1u);
    EXPECT_EQ(placement.tier_of(make_extent_key(1, 5), 1), 0);
}

TEST(TieringEngine, RefusedOrdersAreForgotten) {
    PredictivePolicy policy(config(1000));
    InstantExecutor view(config(1000).tiers);  // used as a view only: nothing ever moves
    std::uint64_t issued = 0;
    std::size_t most_awaited = 0;
    for (std::uint64_t s = 0; s < 1200; ++s) {
        const std::uint64_t hot = s / 60 * 10;  // a new hot set of 10 extents every minute
        for (int i = 0; i < 20; ++i)
            policy.observe(io_at(s * 1'000'000 + i * 1000, hot + i % 10, kIo));
        issued += policy.plan(s * 1'000'000 + 999'999, view).size();
        most_awaited = std::max(most_awaited, policy.engine().awaited_orders());
    }
    EXPECT_GT(issued, 100u);  // orders for many different extents were issued...
    // ... but no more are remembered than can be in flight at once.
    EXPECT_LE(most_awaited, policy.engine().config().max_concurrent_migrations);
}

// Past its limit of tracked extents the engine profiles no further extent: that is an alert,
// naming the limit and how many accesses went unprofiled, never a silent loss. Below the limit
// there is none.
TEST(TieringEngine, PassingTheLimitOfTrackedExtentsIsAnAlert) {
    EngineConfig c = config(40);
    c.max_tracked_extents = 1024;
    PredictivePolicy policy(c);
    InstantExecutor ex(c.tiers);
    const auto limit_alerts = [&policy] {
        std::vector<PolicyAlert> out;
        for (const PolicyAlert& a : policy.alerts())
            if (a.kind == "tracking limit") out.push_back(a);
        return out;
    };
    for (std::uint64_t x = 0; x < 1000; ++x) ex.serve(policy, io_at(1'000'000 + x, x, kIo));
    ex.run_round(policy, 2'000'000);
    EXPECT_TRUE(limit_alerts().empty());

    for (std::uint64_t x = 1000; x < 1500; ++x) ex.serve(policy, io_at(2'000'000 + x, x, kIo));
    ex.run_round(policy, 3'000'000);
    const auto alerts = limit_alerts();
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].extents, 1024u);
    EXPECT_NE(alerts[0].description.find("1024"), std::string::npos) << alerts[0].description;
    EXPECT_NE(alerts[0].description.find("max_tracked_extents"), std::string::npos)
        << alerts[0].description;
    EXPECT_NE(alerts[0].description.find(std::to_string(1500 - 1024) + " accesses"),
              std::string::npos)
        << alerts[0].description;
    EXPECT_EQ(policy.engine().stats().tracked_extents, 1024u);
}

// Serves the same I/O to every policy of `policies` (as a selector shows it to its live and its
// ghost instance).
void serve_all(std::initializer_list<std::pair<PlacementPolicy*, InstantExecutor*>> policies,
               const IoEvent& e) {
    for (const auto& [p, ex] : policies) ex->serve(*p, e);
}

// Two planners of one forecast (a selector's live and ghost instance): the stream is profiled
// once, the forecast advances once per time step whichever plans first, and each plans against
// its own placement.
TEST(TieringEngine, PlannersOfOneForecastProfileTheStreamOnceAndStepItOnce) {
    const auto forecast = std::make_shared<AccessForecast>(config(40));
    PredictivePolicy live(config(40), forecast, "forecast");
    PredictivePolicy ghost(config(40), forecast, "forecast");
    ASSERT_EQ(live.engine().shared_forecast(), ghost.engine().shared_forecast());
    InstantExecutor live_ex(config(40).tiers);
    std::vector<TierSpec> narrowed = config(40).tiers;
    narrowed[0].capacity_bytes = 4 * kE;
    InstantExecutor ghost_ex(narrowed);
    for (std::uint64_t sec = 0; sec < 300; ++sec) {
        for (int i = 0; i < 64; ++i)
            serve_all({{&live, &live_ex}, {&ghost, &ghost_ex}},
                      io_at(sec * 1'000'000 + static_cast<std::uint64_t>(i) * 10'000, i % 32, kIo));
        ghost_ex.run_round(ghost, (sec + 1) * 1'000'000);  // the selector's ghosts plan first
        ASSERT_EQ(forecast->steps(), sec + 1);
        live_ex.run_round(live, (sec + 1) * 1'000'000);
        ASSERT_EQ(forecast->steps(), sec + 1) << "the second planner of a step reuses it";
    }
    EXPECT_EQ(live.engine().stats().events, 300u * 64) << "each I/O profiled once";
    EXPECT_EQ(live.engine().stats().rounds, 300u);
    EXPECT_EQ(ghost.engine().stats().rounds, 300u);
    EXPECT_EQ(ghost_ex.migrations, 4u) << "its own placement: four extents fit";
    EXPECT_GT(live_ex.migrations, 4u);
}

// Idle eviction under two planners of one forecast (the extent table rebuilt between their time
// steps): the extents idle for idle_evict_us are forgotten, the hot ones keep their statistics
// through every rebuild (their outlook, what `rbdtier heat` shows, stays hot), and both planners
// of a step score the same table.
TEST(TieringEngine, IdleEvictionForgetsTheIdleExtentsAndKeepsTheHotOnes) {
    EngineConfig c = config(40);
    c.horizon_us = 1'000'000;  // idle for 64 s: forgotten; looked for every 4 s
    c.bucket_us = 1'000'000;
    const auto forecast = std::make_shared<AccessForecast>(c);
    PredictivePolicy live(c, forecast, "forecast");
    PredictivePolicy ghost(c, forecast, "forecast");
    InstantExecutor live_ex(c.tiers);
    InstantExecutor ghost_ex(c.tiers);
    constexpr std::uint64_t kHot = 32, kSeconds = 120;
    for (std::uint64_t sec = 0; sec < kSeconds; ++sec) {
        const std::uint64_t t = sec * 1'000'000;
        // The first ten seconds, 500 extents a second read once (then idle); extents 0-31 read
        // every second throughout.
        for (std::uint64_t i = 0; sec < 10 && i < 500; ++i)
            serve_all({{&live, &live_ex}, {&ghost, &ghost_ex}},
                      io_at(t + i * 1'000, kHot + sec * 500 + i, kIo));
        for (std::uint64_t e = 0; e < kHot; ++e)
            serve_all({{&live, &live_ex}, {&ghost, &ghost_ex}}, io_at(t + 600'000 + e, e, kIo));
        ghost_ex.run_round(ghost, t + 1'000'000);
        live_ex.run_round(live, t + 1'000'000);
        ASSERT_EQ(live.engine().stats().scored, ghost.engine().stats().scored) << "second " << sec;
        for (std::uint64_t e = 0; e < kHot; ++e) {
            const auto o = live.outlook(kIo.lun, e, t + 1'000'000);
            ASSERT_TRUE(o.has_value()) << "hot extent " << e << ", second " << sec;
            ASSERT_GT(o->recent_accesses, 0) << "hot extent " << e << ", second " << sec;
        }
    }
    EXPECT_EQ(live.engine().stats().tracked_extents, kHot) << "every idle extent forgotten";
    EXPECT_FALSE(live.outlook(kIo.lun, kHot, kSeconds * 1'000'000).has_value());
}

// A planner of a shared forecast plans exactly as an engine with a forecast of its own, whatever
// the other planner does.
TEST(TieringEngine, APlannerOfASharedForecastPlansAsAnEngineAlone) {
    PredictivePolicy alone(config(40));
    const auto forecast = std::make_shared<AccessForecast>(config(40));
    PredictivePolicy live(config(40), forecast, "forecast");
    PredictivePolicy ghost(config(40), forecast, "forecast");
    InstantExecutor alone_ex(config(40).tiers), live_ex(config(40).tiers);
    std::vector<TierSpec> narrowed = config(40).tiers;
    narrowed[0].capacity_bytes = 4 * kE;
    InstantExecutor ghost_ex(narrowed);
    std::mt19937_64 rng(11);
    for (std::uint64_t sec = 0; sec < 400; ++sec) {
        // A hot set that moves every 100 s, and noise.
        for (int i = 0; i < 80; ++i) {
            const std::uint64_t x =
                i % 4 == 0 ? rng() % 4000 : (sec / 100) * 64 + static_cast<std::uint64_t>(i % 48);
            serve_all({{&alone, &alone_ex}, {&live, &live_ex}, {&ghost, &ghost_ex}},
                      io_at(sec * 1'000'000 + static_cast<std::uint64_t>(i) * 10'000, x, kIo));
        }
        ghost_ex.run_round(ghost, (sec + 1) * 1'000'000);
        const auto alone_orders = alone.plan((sec + 1) * 1'000'000, alone_ex);
        const auto live_orders = live.plan((sec + 1) * 1'000'000, live_ex);
        ASSERT_EQ(alone_orders.size(), live_orders.size()) << "round " << sec;
        for (std::size_t i = 0; i < alone_orders.size(); ++i) {
            ASSERT_EQ(alone_orders[i].extent, live_orders[i].extent) << "round " << sec;
            ASSERT_EQ(alone_orders[i].to, live_orders[i].to) << "round " << sec;
        }
        for (const auto& o : alone_orders) alone_ex.carry_out(alone, o, (sec + 1) * 1'000'000);
        for (const auto& o : live_orders) live_ex.carry_out(live, o, (sec + 1) * 1'000'000);
    }
    EXPECT_GT(alone_ex.migrations, 0u);
    EXPECT_EQ(alone.engine().feedback().total().promotions,
              live.engine().feedback().total().promotions);
}

// The planner that records the stream for its forecast may go (a selector drops an instance):
// another planner of the forecast records from then on.
TEST(TieringEngine, AnotherPlannerRecordsOnceTheRecorderIsGone) {
    const auto forecast = std::make_shared<AccessForecast>(config(40));
    auto first = std::make_unique<PredictivePolicy>(config(40), forecast, "forecast");
    PredictivePolicy second(config(40), forecast, "forecast");
    InstantExecutor ex(config(40).tiers);
    for (int i = 0; i < 10; ++i) {
        first->observe(io_at(static_cast<std::uint64_t>(i) * 1000, 1, kIo));
        second.observe(io_at(static_cast<std::uint64_t>(i) * 1000, 1, kIo));
    }
    first.reset();
    for (int i = 10; i < 15; ++i)
        second.observe(io_at(static_cast<std::uint64_t>(i) * 1000, 1, kIo));
    ex.run_round(second, 1'000'000);
    EXPECT_EQ(second.engine().stats().events, 15u);
}

// What the policy observes comes in through its engine's serialized intake, without the
// profiler's rings: 100 rounds of 1,000 I/Os are more events than a ring holds, so a ring would
// have wrapped through all its 32,768 slots (1.5 MiB). From the first round to the last the
// policy grows by far less than that (the calibration's forecasts awaiting their horizon).
TEST(TieringEngine, AnObservingPolicyHoldsNoEventRings) {
    if (!test_support::heap_bytes_counted()) GTEST_SKIP() << "heap not counted by glibc";
    InstantExecutor ex(config(40).tiers);
    {
        PredictivePolicy warm(config(40));  // the process-wide scoring arena, made once
        ex.run_round(warm, 1'000'000);
    }
    const std::size_t before = test_support::heap_bytes();
    auto policy = std::make_unique<PredictivePolicy>(config(40));
    std::size_t after_first = 0;
    for (std::uint64_t sec = 0; sec < 100; ++sec) {
        for (std::uint64_t i = 0; i < 1000; ++i)
            ex.serve(*policy, io_at(sec * 1'000'000 + i * 1000, i % 64, kIo));
        ex.run_round(*policy, (sec + 1) * 1'000'000);
        if (sec == 0) after_first = test_support::heap_bytes() - before;
    }
    EXPECT_EQ(policy->engine().stats().events, 100'000u);
    const std::size_t held = test_support::heap_bytes() - before;
    std::cout << "policy after 1,000 observed I/Os: " << after_first
              << " bytes, after 100,000: " << held << " bytes\n";
    EXPECT_LE(held, after_first + 1024 * 1024);
    EXPECT_EQ(policy->engine().profiler().ring_bytes(), 0u);
}

}  // namespace
}  // namespace rbdtier
