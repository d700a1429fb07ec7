#include "engine/replay/replay_simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "engine/extent_key.h"
#include "engine/lun_rounds.h"
#include "tests/support/fake_storage.h"
#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::kE;
using test_events::order;
using test_events::read_at;

// A policy driven by a function: plan(now, view) -> orders. Records completions.
class ScriptedPolicy final : public PlacementPolicy {
public:
    using Plan = std::function<std::vector<MigrationOrder>(std::uint64_t, const PlacementView&)>;
    explicit ScriptedPolicy(Plan plan) : plan_(std::move(plan)) {}
    std::string_view name() const override { return "scripted"; }
    void observe(const IoEvent& io) override { seen.push_back(io); }
    std::vector<MigrationOrder> plan(std::uint64_t now, const PlacementView& v) override {
        return plan_(now, v);
    }
    void migrated(const MigrationOrder& o, std::uint64_t now) override { done.push_back({o, now}); }
    std::vector<IoEvent> seen;
    std::vector<std::pair<MigrationOrder, std::uint64_t>> done;

private:
    Plan plan_;
};

TEST(ReplaySimulator, NoMigrationMeansHomeLatency) {
    StorageModel c = default_replay_config();
    std::vector<IoEvent> ev = {read_at(0, 1), read_at(10, 2), read_at(20, 3)};
    ScriptedPolicy p([](auto, auto&) { return std::vector<MigrationOrder>{}; });
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.ios, 3u);
    EXPECT_EQ(r.ios_per_tier[1], 3u);
    EXPECT_EQ(r.fast_ios, 0u);
    EXPECT_DOUBLE_EQ(r.mean_latency_us, 8000);
    EXPECT_EQ(p.seen.size(), 3u);
    EXPECT_EQ(p.seen[0].latency_us, 8000u);
}

TEST(ReplaySimulator, ExtentIsInItsNewTierOnlyAfterTheCopyTime) {
    StorageModel c = default_replay_config();
    c.bandwidth_bytes_per_s = 4.0 * (1 << 20);  // one extent per second
    c.round_us = 10'000'000;
    // Promote extent 5 at the first round (t = 0); the copy takes 1 s of trace time.
    ScriptedPolicy p([](std::uint64_t now, const PlacementView& v) {
        std::vector<MigrationOrder> out;
        if (now == 0 && v.tier_of(0, 5) == 1) out.push_back(order(5, 1, 0));
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 5), read_at(999'999, 5), read_at(1'000'000, 5)};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.ios_per_tier[1], 2u);
    EXPECT_EQ(r.ios_per_tier[0], 1u);
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0].second, 1'000'000u);
    EXPECT_EQ(r.promotions, 1u);
    EXPECT_EQ(r.useful_promotions, 1u);
    EXPECT_EQ(r.wasted_promotions, 0u);
}

TEST(ReplaySimulator, CapacityRefusesAndIsNeverExceeded) {
    StorageModel c = default_replay_config();
    c.tiers[0].spec.capacity_bytes = 3 * kE;
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0)
            for (ExtentIndex e = 0; e < 10; ++e) out.push_back(order(e, 1, 0));
        return out;
    });
    std::vector<IoEvent> ev;
    for (std::uint64_t t = 0; t < 5; ++t) ev.push_back(read_at(t * 1'000'000, t));
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.migrations, 3u);
    EXPECT_EQ(r.refused_capacity, 7u);
}

TEST(ReplaySimulator, TenantQuotaRefuses) {
    StorageModel c = default_replay_config();
    TenantModel t;
    t.name = "small";
    t.luns = {0};
    t.quota_bytes[0] = 2 * kE;
    c.tenants.push_back(t);
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0)
            for (ExtentIndex e = 0; e < 5; ++e) {
                out.push_back(order(e, 1, 0, 0));
                out.push_back(order(e, 1, 0, 1));  // LUN 1 has no tenant: no quota
            }
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 0), read_at(5'000'000, 0)};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.refused_quota, 3u);
    EXPECT_EQ(r.migrations, 7u);
}

TEST(ReplaySimulator, BandwidthAndConcurrencyBudgets) {
    StorageModel c = default_replay_config();
    c.bandwidth_bytes_per_s = 8.0 * (1 << 20);  // 2 extents per second, bucket = 2 extents
    c.max_concurrent = 100;
    ScriptedPolicy p([](std::uint64_t, const PlacementView& v) {
        std::vector<MigrationOrder> out;
        for (ExtentIndex e = 0; e < 50; ++e)
            if (v.tier_of(0, e) == 1) out.push_back(order(e, 1, 0));
        return out;
    });
    std::vector<IoEvent> ev;
    for (std::uint64_t t = 0; t <= 10; ++t) ev.push_back(read_at(t * 1'000'000, 99));
    const auto r = replay(c, ev, p);
    // 10 s at 2 extents/s plus the initial bucket of 2 extents.
    EXPECT_LE(r.migrations + r.unfinished_migrations, 22u);
    EXPECT_GE(r.migrations, 18u);
    EXPECT_GT(r.refused_bandwidth, 0u);
}

// A full channel makes an order wait for a slot, as the live executor does: with one migration
// at a time, a round's orders run one after another within the round, not one per round.
TEST(ReplaySimulator, OrdersWaitForAFreeSlotWithinTheRound) {
    StorageModel c = default_replay_config();
    c.max_concurrent = 1;
    c.bandwidth_bytes_per_s = 40.0 * (1 << 20);  // 10 extents per second, 100 ms each
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0)
            for (ExtentIndex e = 0; e < 5; ++e) out.push_back(order(e, 1, 0));
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 99), read_at(999'000, 99), read_at(3'000'000, 99)};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.migrations, 5u);
    EXPECT_EQ(r.refused_concurrency, 0u);
    ASSERT_EQ(p.done.size(), 5u);
    for (std::size_t i = 0; i < p.done.size(); ++i)  // back to back on the link
        EXPECT_EQ(p.done[i].second, (i + 1) * 100'000u) << "migration " << i;
}

// What the channel could not start before the next round is replaced by that round's plan.
TEST(ReplaySimulator, OrdersNotStartedByTheNextRoundAreDropped) {
    StorageModel c = default_replay_config();
    c.max_concurrent = 1;
    c.bandwidth_bytes_per_s = 8.0 * (1 << 20);  // 2 extents per second, 500 ms each
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0)
            for (ExtentIndex e = 0; e < 10; ++e) out.push_back(order(e, 1, 0));
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 99), read_at(5'000'000, 99)};
    const auto r = replay(c, ev, p);
    // Started at 0, 500 and 1000 ms (the slot frees at 1 s, before the next round's plan).
    EXPECT_EQ(r.migrations, 3u);
    EXPECT_EQ(r.refused_concurrency + r.refused_bandwidth, 7u);
}

// A policy that keeps `quota` extents of LUN 0 in tier 1 (extents 0, 1, ... in turn), and counts
// against that quota, as the engine's scheduler does, every order of its own it has not heard back
// about (migrated() or dropped()). What it saw, shared with the test: at each plan(), how many
// orders it counted so; and how many of its orders it heard dropped only after it had planned
// again.
class QuotaKeeper final : public PlacementPolicy {
public:
    struct Seen {
        std::vector<std::size_t> counted_at_plan;
        std::size_t dropped_after_next_plan = 0;
        std::size_t migrated = 0;
    };
    explicit QuotaKeeper(std::size_t quota) : quota_(quota) {}
    std::string_view name() const override { return "quota keeper"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView&) override {
        ++round_;
        seen->counted_at_plan.push_back(waiting_.size());
        std::vector<MigrationOrder> out;
        for (ExtentIndex e = 0; placed_.size() + waiting_.size() < quota_; ++e) {
            if (placed_.count(e) != 0 || waiting_.count(e) != 0) continue;
            out.push_back(order(e, 0, 1));
            waiting_[e] = round_;
        }
        return out;
    }
    void migrated(const MigrationOrder& o, std::uint64_t) override {
        waiting_.erase(o.extent);
        placed_.insert(o.extent);
        ++seen->migrated;
    }
    void dropped(const MigrationOrder& o, std::uint64_t) override {
        if (const auto it = waiting_.find(o.extent); it != waiting_.end()) {
            if (it->second < round_) ++seen->dropped_after_next_plan;
            waiting_.erase(it);
        }
    }

    std::shared_ptr<Seen> seen = std::make_shared<Seen>();

private:
    std::size_t quota_;
    std::size_t round_ = 0;
    std::set<ExtentIndex> placed_;
    std::map<ExtentIndex, std::size_t> waiting_;  // extent -> the round that ordered it
};

// The same policy, wanting 6 extents in the fast tier, over a channel of one migration at a time
// and one extent a second, with a round a second, run live (a LUN's rounds over a storage in
// memory, its executor's budget on a test clock) and in replay. Live, each round withdraws the
// last round's orders not started and the policy hears them dropped before it plans again: it
// never counts more than the executor may have in flight (one) against its quota. The replay
// must do the same, or the policy counts its queued orders against the quota while planning
// and then loses them, and its quota stays unused for a round.
TEST(ReplaySimulator, WithdrawsTheOrdersNotStartedBeforeThePolicyPlansAgainAsTheLiveRoundsDo) {
    static constexpr std::size_t kQuota = 6;
    constexpr int kRounds = 10;
    const auto followed_the_live_rules = [](const QuotaKeeper::Seen& seen) {
        EXPECT_EQ(seen.dropped_after_next_plan, 0u);
        EXPECT_LE(*std::max_element(seen.counted_at_plan.begin(), seen.counted_at_plan.end()), 1u);
        EXPECT_EQ(seen.migrated, kQuota);
    };
    {
        SCOPED_TRACE("live");
        std::atomic<std::uint64_t> clock_us{1'000'000};
        auto budget = std::make_shared<GatewayBudget>(static_cast<double>(kE), 1,
                                                      [&] { return clock_us.load(); });
        test_support::FakeStorage storage(16);
        std::vector<TierSpec> tiers(2);
        tiers[0] = {0, "hdd-a", "hdd", "a", 8000, 8000, 0, 1};
        tiers[1] = {1, "nvme-a", "nvme", "a", 200, 200, 0, 10};
        auto keeper = std::make_unique<QuotaKeeper>(kQuota);
        const auto seen = keeper->seen;
        LunRoundsOptions options;
        options.budget = budget;
        LunRounds rounds(storage, tiers, std::move(keeper), options);
        for (int r = 0; r < kRounds; ++r, clock_us += 1'000'000) rounds.run_round();
        followed_the_live_rules(*seen);
    }
    {
        SCOPED_TRACE("replay");
        StorageModel c;
        c.tiers = {TierModel{{0, "hdd-a", "hdd", "a", 8000, 8000, 0, 1}},
                   TierModel{{1, "nvme-a", "nvme", "a", 200, 200, 0, 10}}};
        c.default_home = 0;
        c.bandwidth_bytes_per_s = static_cast<double>(kE);
        c.max_concurrent = 1;
        std::vector<IoEvent> ev;
        for (int r = 0; r <= kRounds; ++r)
            ev.push_back(read_at(static_cast<std::uint64_t>(r) * 1'000'000, 15));
        QuotaKeeper keeper(kQuota);
        replay(c, ev, keeper);
        followed_the_live_rules(*keeper.seen);
    }
}

TEST(ReplaySimulator, StaleAndNonsenseOrdersAreRefused) {
    StorageModel c = default_replay_config();
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0) {
            out.push_back(order(1, 0, 2));   // not in tier 0
            out.push_back(order(1, 1, 1));   // no-op
            out.push_back(order(1, 1, 42));  // unknown tier
            out.push_back(order(1, 1, 0));   // fine
            out.push_back(order(1, 1, 2));   // already in flight
        }
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 1), read_at(3'000'000, 1)};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.refused_invalid, 4u);
    EXPECT_EQ(r.migrations, 1u);
    EXPECT_EQ(r.ios_per_tier[0], 1u);
}

TEST(ReplaySimulator, WastedPromotionIsCounted) {
    StorageModel c = default_replay_config();
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0) out.push_back(order(7, 1, 0));  // never accessed
        if (now == 0) out.push_back(order(1, 1, 0));  // accessed later
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 1), read_at(2'000'000, 1)};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.promotions, 2u);
    EXPECT_EQ(r.useful_promotions, 1u);
    EXPECT_EQ(r.wasted_promotions, 1u);
    EXPECT_DOUBLE_EQ(r.precision(), 0.5);
}

TEST(ReplaySimulator, ExplainCountersOnATinyStream) {
    StorageModel c = default_replay_config();
    c.bandwidth_bytes_per_s = 8.0 * (1 << 20);  // one extent per 0.5 s
    c.round_us = 1'000'000;
    // Round at 2 s: promote extent 5 (first slow access at 0.5 s, done at 2.5 s: waited 2 s)
    // and extent 6 (never accessed: its promotion is never used). Rounds at 1 s and 2 s start
    // with an idle channel after slow accesses; the one at 1 s promotes nothing.
    ScriptedPolicy p([](std::uint64_t now, const PlacementView& v) {
        std::vector<MigrationOrder> out;
        if (now == 2'000'000 && v.tier_of(0, 5) == 1) {
            out.push_back(order(5, 1, 0));
            out.push_back(order(6, 1, 0));
        }
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 7), read_at(500'000, 5), read_at(1'500'000, 5),
                               read_at(5'500'000, 5), read_at(5'600'000, 5)};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.promotions, 2u);
    EXPECT_EQ(r.useful_promotions, 1u);
    EXPECT_EQ(r.wasted_promotions, 1u);
    EXPECT_EQ(r.wasted_promotion_bytes, kE);
    EXPECT_EQ(r.promotions_after_wait, 1u);
    EXPECT_DOUBLE_EQ(r.mean_promotion_wait_us(), 2'000'000.0);
    // Rounds: 0 s (no demand yet), 1 s (idle, demand, nothing: counted), 2 s (promotes),
    // 3 s to 5 s (no slow access in the round before).
    EXPECT_EQ(r.idle_rounds_without_promotion, 1u);
}

TEST(ReplaySimulator, SlowAccessesAreToldApartByWhatThePolicyCouldHaveDone) {
    StorageModel c = default_replay_config();
    c.round_us = 1'000'000;
    // Rounds every second from the first read (extent 9 at 0 s). Extent 5: read at 0.2 s (its
    // first access), 0.7 s (within a round of it), 1.5 s (waited past a round); promoted at the
    // round at 2 s and read there at 2.5 s; demoted at the round at 3 s, then read at 3.5 s
    // (within 10 s of its demotion) and 20 s (more than 10 s after).
    ScriptedPolicy p([](std::uint64_t now, const PlacementView& v) {
        std::vector<MigrationOrder> out;
        if (now == 2'000'000 && v.tier_of(0, 5) == 1) out.push_back(order(5, 1, 0));
        if (now == 3'000'000 && v.tier_of(0, 5) == 0) out.push_back(order(5, 0, 1));
        return out;
    });
    std::vector<IoEvent> ev = {read_at(0, 9),         read_at(200'000, 5),   read_at(700'000, 5),
                               read_at(1'500'000, 5), read_at(2'500'000, 5), read_at(3'500'000, 5),
                               read_at(20'000'000, 5)};
    const auto r = replay(c, ev, p);
    ASSERT_EQ(r.promotions, 1u);
    ASSERT_EQ(r.demotions, 1u);
    EXPECT_EQ(r.ios_per_tier[0], 1u);  // at 2.5 s
    EXPECT_EQ(r.slow_first_accesses, 2u);
    EXPECT_EQ(r.slow_within_round, 1u);
    EXPECT_EQ(r.slow_before_promotion, 1u);
    EXPECT_EQ(r.slow_after_demotion, 2u);
    EXPECT_EQ(r.slow_after_demotion_10s, 1u);
}

TEST(ReplaySimulator, SpanningIoPaysTheSlowestExtent) {
    StorageModel c = default_replay_config();
    ScriptedPolicy p([](std::uint64_t now, const PlacementView&) {
        std::vector<MigrationOrder> out;
        if (now == 0) out.push_back(order(0, 1, 0));
        return out;
    });
    IoEvent span = read_at(2'000'000, 0);
    span.offset = kE - 4096;
    span.length = 8192;  // last 4 KiB of extent 0 (nvme-a) + first 4 KiB of extent 1 (hdd-a)
    std::vector<IoEvent> ev = {read_at(0, 9), span};
    const auto r = replay(c, ev, p);
    EXPECT_EQ(r.ios_per_tier[0], 1u);  // attributed to the first byte's tier
    EXPECT_DOUBLE_EQ(r.p99_latency_us, 8000.0);
}

TEST(ReplaySimulator, UnsortedEventsAreRefused) {
    StorageModel c = default_replay_config();
    ScriptedPolicy p([](auto, auto&) { return std::vector<MigrationOrder>{}; });
    std::vector<IoEvent> ev = {read_at(10, 1), read_at(5, 1)};
    EXPECT_THROW(replay(c, ev, p), std::invalid_argument);
    sort_by_time(ev);
    EXPECT_NO_THROW(replay(c, ev, p));
}

TEST(ReplaySimulator, BadConfigurationIsRefused) {
    StorageModel c = default_replay_config();
    c.default_home = 9;
    ScriptedPolicy p([](auto, auto&) { return std::vector<MigrationOrder>{}; });
    std::vector<IoEvent> ev = {read_at(0, 1)};
    EXPECT_THROW(replay(c, ev, p), std::invalid_argument);
}

TEST(ReplaySimulator, LatencyModel) {
    const auto tiers = default_tier_models();
    EXPECT_DOUBLE_EQ(modelled_latency_us(tiers[0], IoOp::kRead, 4096), 200);
    EXPECT_DOUBLE_EQ(modelled_latency_us(tiers[0], IoOp::kRead, 8192), 202);
    EXPECT_DOUBLE_EQ(modelled_latency_us(tiers[1], IoOp::kWrite, 512), 8000);
}

}  // namespace
}  // namespace rbdtier
