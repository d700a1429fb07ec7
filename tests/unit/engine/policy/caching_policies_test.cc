// The promote-on-access candidates (caching_policies.h) on workloads built to favour each, and
// on one where none may churn: each must beat reactive placement where its idea applies, and
// move no more than reactive does on structureless load. And what they learn of a placement
// changed by another hand: from the view's list of extents away from home, not a walk of all.
#include "engine/policy/caching_policies.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "engine/policy/baseline_policies.h"
#include "engine/policy/ranked_placement.h"
#include "engine/policy/strategy_selector.h"
#include "engine/replay/replay_policies.h"
#include "engine/replay/replay_simulator.h"
#include "tests/support/io_events.h"
#include "tests/support/seed.h"

namespace rbdtier {
namespace {

using test_events::kE;
using test_events::read_at;
using test_events::scattered_read_at;

using test_support::seed_note;
using test_support::test_seed;

// Fast tier 0.3 ms holding `fast_extents`, slow home 8 ms, 50 MiB/s, 32 concurrent.
StorageModel two_tiers(const std::vector<IoEvent>& events, std::uint64_t fast_extents) {
    StorageModel c = standard_replay_config(events, 0.1);
    c.tiers.clear();
    TierModel fast;
    fast.spec.id = 0;
    fast.spec.name = "fast";
    fast.spec.read_latency_us = fast.spec.write_latency_us = 300;
    fast.spec.capacity_bytes = fast_extents * kE;
    TierModel slow;
    slow.spec.id = 1;
    slow.spec.name = "slow";
    slow.spec.read_latency_us = slow.spec.write_latency_us = 8000;
    c.tiers = {fast, slow};
    c.default_home = 1;
    c.bandwidth_bytes_per_s = 50.0 * (1 << 20);
    c.max_concurrent = 32;
    return c;
}

ReplayResult run(const std::string& name, const StorageModel& c,
                 const std::vector<IoEvent>& events) {
    const auto registry = replay_policy_registry();
    auto policy = registry.create(name, {c, events});
    return replay(c, events, *policy);  // throws if physics breaks
}

// A writer walks the LUN: 4 extents a second, 40 reads in each, then 2 minutes of quiet, ten
// times over fresh extents. Each extent is busy for 1/4 s: promoting it after its first access
// is always too late, promoting the next extents of the run is in time.
std::vector<IoEvent> sequential_walks() {
    std::vector<IoEvent> out;
    for (std::uint64_t walk = 0; walk < 10; ++walk)
        for (std::uint64_t e = 0; e < 200; ++e)
            for (std::uint64_t k = 0; k < 40; ++k)
                out.push_back(read_at(walk * 150'000'000 + e * 250'000 + k * 6'000, walk * 1000 + e,
                                      0, k * 4096));
    return out;
}

TEST(CachingPolicies, ReadAheadRunsAheadOfASequentialWalk) {
    const auto events = sequential_walks();
    const StorageModel c = two_tiers(events, 50);
    const auto reactive = run("reactive", c, events);
    const auto readahead = run("readahead", c, events);
    std::cout << "fast share: reactive " << reactive.fast_share() << ", readahead "
              << readahead.fast_share() << "\n";
    EXPECT_LT(reactive.fast_share(), 0.1);
    EXPECT_GT(readahead.fast_share(), 0.5);
    EXPECT_LT(readahead.mean_latency_us, 0.6 * reactive.mean_latency_us);
}

// 20 hot extents take 60% of 60 reads/s, read at random within them, for 20 minutes; the rest
// are reads of extents drawn from 20,000 (each read about once): more one-off extents than the
// channel can promote. Promoting most recent first, with LRU eviction, keeps trading hot extents
// for one-off ones; the hottest-first order and the protected segment keep the hot set.
std::vector<IoEvent> hot_set_under_one_off_reads(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<IoEvent> out;
    for (std::uint64_t t = 0; t < 1'200'000'000; t += 16'667)
        out.push_back(scattered_read_at(t, rng() % 10 < 6 ? rng() % 20 : 1000 + rng() % 20'000));
    return out;
}

TEST(CachingPolicies, HeatOrderAndProtectionKeepAHotSetThatOneOffReadsWouldEvict) {
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    const auto events = hot_set_under_one_off_reads(seed);
    const StorageModel c = two_tiers(events, 24);
    const auto reactive = run("reactive", c, events);
    const auto lrfu = run("lrfu", c, events);
    std::cout << "fast share: reactive " << reactive.fast_share() << ", lrfu " << lrfu.fast_share()
              << "\n";
    EXPECT_GT(lrfu.fast_share(), reactive.fast_share() + 0.1);
    EXPECT_GT(lrfu.fast_share(), 0.5);
    EXPECT_LT(lrfu.mean_latency_us, reactive.mean_latency_us);
}

TEST(CachingPolicies, CarryOverPromotesOnceRoomIsFreedWithoutASecondAccess) {
    // One fast slot, held by extent 1. Extent 2 is read once at 3.1 s (no room: 1 is evicted)
    // and then busily from 6.5 s. Reactive promotes 2 only after a new access once the room is
    // free (in the round at 7 s); carry-over promotes it as soon as the room is there (5 s).
    std::vector<IoEvent> events = {read_at(100'000, 1), read_at(3'100'000, 2)};
    for (std::uint64_t t = 6'500'000; t < 7'500'000; t += 10'000) events.push_back(read_at(t, 2));
    const StorageModel c = two_tiers(events, 1);
    const auto reactive = run("reactive", c, events);
    for (const char* name : {"readahead", "lrfu"}) {
        SCOPED_TRACE(name);
        const auto carried = run(name, c, events);
        EXPECT_EQ(carried.fast_ios, events.size() - 2);  // every read of 2 after 3.1 s
        EXPECT_GT(carried.fast_ios, reactive.fast_ios + 40);
    }
}

// Three tiers: fast 0.3 ms and mid 1.2 ms, each holding `extents_each`, and a slow home 8 ms;
// 50 MiB/s, 32 concurrent.
StorageModel fast_mid_slow(const std::vector<IoEvent>& events, std::uint64_t extents_each) {
    StorageModel c = two_tiers(events, extents_each);
    TierModel mid;
    mid.spec.id = 2;
    mid.spec.name = "mid";
    mid.spec.read_latency_us = mid.spec.write_latency_us = 1200;
    mid.spec.capacity_bytes = extents_each * kE;
    c.tiers.push_back(mid);
    return c;
}

TEST(CachingPolicies, ExtentsTheFastestTierHasNoRoomForFillTheNextFasterTier) {
    // 40 hot extents read at random, 40 reads/s for 5 minutes; the fast tier holds 20 of them
    // and the mid tier 20 more. A policy that fills the fastest tier alone serves half of the set
    // from the slow home while the mid tier stays empty and the channel idle; one that puts what
    // the fastest tier has no room for in the mid tier serves it all from the faster tiers. So
    // does reactive at first, but it then trades mid-tier extents into the fast tier for LRU
    // residents it sends home.
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    std::mt19937 rng(seed);
    std::vector<IoEvent> events;
    for (std::uint64_t t = 0; t < 300'000'000; t += 25'000)
        events.push_back(scattered_read_at(t, rng() % 40));
    const StorageModel c = fast_mid_slow(events, 20);
    const auto reactive = run("reactive", c, events);
    // readahead is left out: on a hot set read at random its runs read ahead past the set.
    for (const char* name : {"lrfu", "slru", "admit"}) {
        SCOPED_TRACE(name);
        const auto r = run(name, c, events);
        std::cout << name << ": " << r.mean_latency_us << " us, mid tier serves "
                  << r.ios_per_tier.at(2) << " of " << r.ios << " I/Os; reactive "
                  << reactive.mean_latency_us << " us\n";
        EXPECT_GT(r.ios_per_tier.at(2), r.ios / 4);
        EXPECT_LE(r.mean_latency_us, reactive.mean_latency_us * 1.02);
    }
}

// 50 reads/s for 20 minutes of extents drawn uniformly from 20,000: nothing comes back soon,
// and no run forms.
std::vector<IoEvent> uniform_random(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<IoEvent> out;
    for (std::uint64_t t = 0; t < 1'200'000'000; t += 20'000)
        out.push_back(scattered_read_at(t, rng() % 20'000));
    return out;
}

TEST(CachingPolicies, NoMoreChurnThanReactiveOnUniformRandomLoad) {
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    const auto events = uniform_random(seed);
    const StorageModel c = two_tiers(events, 2000);
    const auto reactive = run("reactive", c, events);
    const auto none = run("none", c, events);
    for (const char* name : {"readahead", "lrfu"}) {
        SCOPED_TRACE(name);
        const auto r = run(name, c, events);
        // Read-ahead finds no runs; carry-over adds no promotions where every extent found
        // room; evictions follow promotions one for one.
        EXPECT_LE(r.migrations, reactive.migrations + reactive.migrations / 20);
        EXPECT_LE(r.mean_latency_us, none.mean_latency_us);
    }
}

// 40 reused extents, read at random 4 times a second (each about every 10 s), while a scan reads
// 2 never-seen extents a second, once each, for 20 minutes; the fast tier holds the 40. LRU
// keeps the last 40 distinct extents, about 20 of them the scan's, so promoting on every access
// evicts reused extents for one-touch ones; admission by eviction age promotes no scan extent
// once the tier is full.
std::vector<IoEvent> reused_set_under_a_scan(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<IoEvent> out;
    std::uint64_t next_scan = 100'000;
    for (std::uint64_t t = 0; t < 1'200'000'000; t += 250'000) {
        out.push_back(scattered_read_at(t, rng() % 40));
        if (t % 500'000 == 0) out.push_back(scattered_read_at(t + 100'000, next_scan++));
    }
    sort_by_time(out);
    return out;
}

TEST(CachingPolicies, AdmissionByEvictionAgeKeepsAReusedSetThatAScanWouldEvict) {
    const std::uint32_t seed = test_seed();
    const auto events = reused_set_under_a_scan(seed);
    const StorageModel c = two_tiers(events, 40);
    const auto reactive = run("reactive", c, events);
    const auto admit = run("admit", c, events);
    std::cout << "reactive: " << reactive.mean_latency_us << " us, " << reactive.migrations
              << " migrations; admit: " << admit.mean_latency_us << " us, " << admit.migrations
              << " migrations\n";
    EXPECT_LT(admit.mean_latency_us, 0.7 * reactive.mean_latency_us);
    EXPECT_LT(admit.migrations, reactive.migrations / 2);
}

// What a StrategySelector over reactive and `challenger`, starting on reactive, serves on
// `events`, and which of the two it follows at the end.
struct Selected {
    ReplayResult result;
    std::string follows;
};
Selected select_against_reactive(const std::string& challenger, const StorageModel& c,
                                 const std::vector<IoEvent>& events) {
    const auto registry = replay_policy_registry();
    const std::vector<StrategySelector::Candidate> candidates = {
        {"reactive",
         [&] {
             return registry.create("reactive", {c, events});
         }},
        {challenger,
         [&] {
             return registry.create(challenger, {c, events});
         }},
    };
    StrategySelector selector("selector", candidates, c.channel());
    Selected out{replay(c, events, selector), ""};
    out.follows = selector.candidate_name(selector.choice(0));
    std::cout << "selector: " << out.result.mean_latency_us << " us, follows " << out.follows
              << "; " << challenger << " alone " << run(challenger, c, events).mean_latency_us
              << " us\n";
    return out;
}

// The selector follows admit where a scan favours it.
TEST(CachingPolicies, ASelectorFollowsAdmissionByEvictionAgeWhereItWins) {
    const std::uint32_t seed = test_seed();
    const auto events = reused_set_under_a_scan(seed);
    const StorageModel c = two_tiers(events, 40);
    const Selected selected = select_against_reactive("admit", c, events);
    EXPECT_EQ(selected.follows, "admit");
    EXPECT_LT(selected.result.mean_latency_us, run("reactive", c, events).mean_latency_us);
}

// One LUN of 25,600 extents (100 GiB), home tier 1 (slow, 8 ms), whose extents `in_fast` are in
// tier 0 (fast, 0.3 ms, full with them). It lists the extents away from home without a walk of
// every extent, as the executor's view does, and counts the tier_of() calls.
class ListedView final : public PlacementView {
public:
    // The fast tier holds `fast_extents` (0: as many as `in_fast`).
    explicit ListedView(std::vector<ExtentIndex> in_fast, std::uint64_t fast_extents = 0)
        : in_fast_(std::move(in_fast)) {
        TierSpec fast;
        fast.id = 0;
        fast.name = "fast";
        fast.read_latency_us = fast.write_latency_us = 300;
        fast.capacity_bytes = (fast_extents != 0 ? fast_extents : in_fast_.size()) * kE;
        TierSpec slow;
        slow.id = 1;
        slow.name = "slow";
        slow.read_latency_us = slow.write_latency_us = 8000;
        tiers_ = {fast, slow};
    }
    TierId tier_of(LunId, ExtentIndex extent) const override {
        ++tier_of_calls;
        return std::find(in_fast_.begin(), in_fast_.end(), extent) != in_fast_.end() ? 0 : 1;
    }
    TierId home_tier(LunId) const override { return 1; }
    std::uint64_t used_bytes(TierId tier) const override {
        return tier == 0 ? in_fast_.size() * kE : 0;
    }
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return kE; }
    std::uint64_t extents(LunId) const override { return 25'600; }
    void away_from_home(LunId,
                        const std::function<void(ExtentIndex, TierId)>& each) const override {
        for (ExtentIndex e : in_fast_) each(e, 0);
    }
    // Another hand moved extents: `in_fast` are the fast tier's now.
    void place(std::vector<ExtentIndex> in_fast) { in_fast_ = std::move(in_fast); }
    mutable std::uint64_t tier_of_calls = 0;

private:
    std::vector<ExtentIndex> in_fast_;
    std::vector<TierSpec> tiers_;
};

TEST(CachingPolicies, PlacementChangedReadsTheExtentsAwayFromHomeNotEveryExtent) {
    // Another hand put extents 7, 300 and 25,000 of the LUN in the fast tier. Each variant learns
    // them from the view's list of extents away from home, without asking where each of the
    // 25,600 extents is; and adopts them as residents unused since: when extent 100 is read and
    // finds no room, the first one (LRU or coldest order, ties by extent) is demoted for it.
    for (const CachingVariant& v : caching_variants()) {
        SCOPED_TRACE(v.name);
        CachingPolicy policy(v.name, kE, v.params);
        ListedView view({300, 7, 25'000});
        policy.placement_changed(0, 0, view);
        EXPECT_LE(view.tier_of_calls, 3u);
        // Neither admits an extent read once to a full tier.
        if (v.params.admit_by_eviction_age || v.params.sketch_admission) continue;
        policy.observe(read_at(500'000, 100));
        bool demoted = false;
        for (const MigrationOrder& o : policy.plan(1'000'000, view))
            if (o.to == 1) {
                EXPECT_EQ(o.extent, 7u);
                EXPECT_EQ(o.from, 0u);
                demoted = true;
            }
        EXPECT_TRUE(demoted);
    }
}

TEST(CachingPolicies, AnExtentAnotherHandPromotedIsNoLongerWanted) {
    // Extent 9 is read and finds no room (one fast slot, held by 5): it is wanted for the next
    // 10 s. Another hand then puts it in the fast tier, and after a round moves it home again:
    // it was resident at that round, so it is no longer wanted, and nothing promotes it.
    for (const CachingVariant& v : caching_variants()) {
        if (!v.params.carry_over) continue;
        SCOPED_TRACE(v.name);
        CachingPolicy policy(v.name, kE, v.params);
        ListedView view({5}, 1);
        policy.placement_changed(0, 0, view);
        policy.observe(read_at(500'000, 9));
        for (const MigrationOrder& o : policy.plan(1'000'000, view)) EXPECT_NE(o.to, 0u);
        view.place({9});
        policy.placement_changed(0, 1'500'000, view);
        EXPECT_TRUE(policy.plan(2'000'000, view).empty());
        view.place({});
        policy.placement_changed(0, 2'500'000, view);
        EXPECT_TRUE(policy.plan(3'000'000, view).empty());
    }
}

TEST(CachingPolicies, RankedPoliciesReadTheExtentsAwayFromHomeNotEveryExtent) {
    // The residents of the ranked policies (frequency, oracle) are learnt the same way.
    ListedView view({300, 7, 25'000});
    ResidentSet residents;
    residents.replace_lun(0, 1, view);
    EXPECT_EQ(view.tier_of_calls, 0u);
    const std::unordered_map<ExtentKey, TierId> expected = {
        {make_extent_key(0, 7), 0}, {make_extent_key(0, 300), 0}, {make_extent_key(0, 25'000), 0}};
    EXPECT_EQ(residents.extents(), expected);
}

// The variant registered as `name`, made alone.
CachingPolicy make_variant(const std::string& name) {
    for (const CachingVariant& v : caching_variants())
        if (v.name == name) return CachingPolicy(v.name, kE, v.params);
    throw std::invalid_argument("no caching variant " + name);
}

// Carries `orders` out at once on `view` (the fast tier's extents change) and tells `policy`.
void carry_out(CachingPolicy& policy, ListedView& view, const std::vector<MigrationOrder>& orders,
               std::vector<ExtentIndex>& in_fast, std::uint64_t now_us) {
    for (const MigrationOrder& o : orders) {
        if (o.to == 0)
            in_fast.push_back(o.extent);
        else
            in_fast.erase(std::find(in_fast.begin(), in_fast.end(), o.extent));
        view.place(in_fast);
        policy.migrated(o, now_us);
    }
}

std::vector<ExtentIndex> demoted(const std::vector<MigrationOrder>& orders) {
    std::vector<ExtentIndex> out;
    for (const MigrationOrder& o : orders)
        if (o.to == 1) out.push_back(o.extent);
    return out;
}

TEST(CachingPolicies, TinyLfuRefusesAOneOffExtentIntoAFullTierAndAdmitsAFrequentOne) {
    // Two fast slots filled with extents 1 and 2, each read three times, 2 once more since.
    // Extent 100, read once, is not worth a resident: nothing is demoted for it. Extent 200,
    // read five times, is: the least recently used resident (1) is demoted, and 200 (not 100)
    // takes the room.
    CachingPolicy policy = make_variant("tinylfu");
    std::vector<ExtentIndex> in_fast;
    ListedView view(in_fast, 2);
    for (std::uint64_t k = 0; k < 3; ++k) {
        policy.observe(read_at(100'000 + k, 1));
        policy.observe(read_at(200'000 + k, 2));
    }
    carry_out(policy, view, policy.plan(1'000'000, view), in_fast, 1'000'000);
    ASSERT_EQ(in_fast.size(), 2u);
    policy.observe(read_at(1'200'000, 2));  // 1 is the least recently used resident
    policy.observe(read_at(1'500'000, 100));
    const auto for_one_off = policy.plan(2'000'000, view);
    EXPECT_TRUE(for_one_off.empty());
    for (std::uint64_t k = 0; k < 5; ++k) policy.observe(read_at(2'500'000 + k, 200));
    const auto for_frequent = policy.plan(3'000'000, view);
    EXPECT_EQ(demoted(for_frequent), (std::vector<ExtentIndex>{1}));
    carry_out(policy, view, for_frequent, in_fast, 3'000'000);
    carry_out(policy, view, policy.plan(4'000'000, view), in_fast, 4'000'000);
    std::sort(in_fast.begin(), in_fast.end());
    EXPECT_EQ(in_fast, (std::vector<ExtentIndex>{2, 200}));
}

TEST(CachingPolicies, ArcGrowsItsRecencySideOnRecencyGhostHits) {
    // Two fast slots: extent 1 read again after its promotion (frequency side), then 2 (recency
    // side). Extent 3 is read: the recency side is above its target (none yet), so 2 is evicted
    // for it and remembered as a recency ghost. Then:
    //   - 2 is read again (a recency ghost hit: the recency side's target grows to one slot):
    //     the recency side (3) is no longer above its target, so 1 is evicted for 2;
    //   - a new extent 4 is read instead: the recency side is still above its target (none), so
    //     3 is evicted for it.
    for (const bool ghost_hit : {true, false}) {
        SCOPED_TRACE(ghost_hit ? "recency ghost hit" : "new extent");
        CachingPolicy policy = make_variant("arc");
        std::vector<ExtentIndex> in_fast;
        ListedView view(in_fast, 2);
        policy.observe(read_at(100'000, 1));
        carry_out(policy, view, policy.plan(1'000'000, view), in_fast, 1'000'000);
        policy.observe(read_at(1'100'000, 1));
        policy.observe(read_at(1'200'000, 2));
        carry_out(policy, view, policy.plan(2'000'000, view), in_fast, 2'000'000);
        ASSERT_EQ(in_fast.size(), 2u);
        policy.observe(read_at(2'100'000, 3));
        const auto for_3 = policy.plan(3'000'000, view);
        EXPECT_EQ(demoted(for_3), (std::vector<ExtentIndex>{2}));
        carry_out(policy, view, for_3, in_fast, 3'000'000);
        carry_out(policy, view, policy.plan(4'000'000, view), in_fast, 4'000'000);
        policy.observe(read_at(4'100'000, ghost_hit ? 2 : 4));
        EXPECT_EQ(demoted(policy.plan(5'000'000, view)),
                  (std::vector<ExtentIndex>{ghost_hit ? 1u : 3u}));
    }
}

TEST(CachingPolicies, TinyLfuKeepsAHotSetThatOneOffReadsWouldEvictAndSpendsLessChannel) {
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    const auto events = hot_set_under_one_off_reads(seed);
    const StorageModel c = two_tiers(events, 24);
    const auto reactive = run("reactive", c, events);
    const auto tinylfu = run("tinylfu", c, events);
    std::cout << "reactive: fast share " << reactive.fast_share() << ", " << reactive.migrations
              << " migrations; tinylfu: " << tinylfu.fast_share() << ", " << tinylfu.migrations
              << "\n";
    EXPECT_GT(tinylfu.fast_share(), reactive.fast_share() + 0.1);
    EXPECT_LT(tinylfu.migrations, reactive.migrations / 2);
}

// The selector follows tinylfu where one-off reads would evict a hot set.
TEST(CachingPolicies, ASelectorFollowsTinyLfuWhereItWins) {
    const std::uint32_t seed = test_seed();
    SCOPED_TRACE(seed_note(seed));
    const auto events = hot_set_under_one_off_reads(seed);
    const StorageModel c = two_tiers(events, 24);
    const Selected selected = select_against_reactive("tinylfu", c, events);
    EXPECT_EQ(selected.follows, "tinylfu");
    EXPECT_LT(selected.result.mean_latency_us, 0.9 * run("reactive", c, events).mean_latency_us);
}

TEST(CachingPolicies, VariantsAreRegisteredWithADescription) {
    const auto registry = replay_policy_registry();
    for (const auto& v : caching_variants()) {
        SCOPED_TRACE(v.name);
        ASSERT_TRUE(registry.contains(v.name));
        EXPECT_FALSE(registry.description(v.name).empty());
    }
}

}  // namespace
}  // namespace rbdtier
