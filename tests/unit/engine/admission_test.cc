// Admission: quota across a tenant's LUNs, pins win, budget and concurrency caps, hysteresis,
// deterministic order, and a randomized run that never breaks a capacity or a quota.
#include "engine/admission.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/support/io_events.h"
#include "tests/support/seed.h"

namespace rbdtier {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;
constexpr TierId kHome = 0;
constexpr TierId kFast = 1;
constexpr TierId kSlow = 2;

using test_events::order;

AdmissionConfig config(std::uint64_t hysteresis_us = 0) {
    AdmissionConfig c;
    c.extent_bytes = kExtent;
    c.hysteresis_us = hysteresis_us;
    return c;
}

ExtentPlace at(TierId current) {
    return ExtentPlace{current, kHome, false};
}

TEST(Admission, TenantQuotaHoldsAcrossItsLuns) {
    Admission admission(config(), {0, 0, 0});
    admission.set_tenant(1, "t0");
    admission.set_tenant(2, "t0");
    admission.set_tenant(3, "t1");
    admission.set_quota("t0", kFast, 3 * kExtent);
    admission.tenants().set_measured("t0", {{"elsewhere", {{admission.pool(kFast), kExtent}}}});
    // The tenant holds one extent elsewhere: two more fit, whichever of its LUNs asks.
    EXPECT_EQ(admission.admit(order(0, kHome, kFast, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.admit(order(0, kHome, kFast, 2), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.admit(order(1, kHome, kFast, 2), at(kHome), 0), Refusal::kQuota);
    EXPECT_EQ(admission.admit(order(1, kHome, kFast, 1), at(kHome), 0), Refusal::kQuota);
    // Another tenant, and the same tenant on a tier without quota, are not limited by it.
    EXPECT_EQ(admission.admit(order(0, kHome, kFast, 3), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.admit(order(2, kHome, kSlow, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.tenant_used("t0", kFast), 2 * kExtent);
    // Going home is never refused by a quota; completing it frees the tenant's room.
    ASSERT_TRUE(admission.completed(order(0, kHome, kFast, 1), kHome, 10));
    EXPECT_EQ(admission.admit(order(0, kFast, kHome, 1), at(kFast), 20), Refusal::kNone);
    ASSERT_TRUE(admission.completed(order(0, kFast, kHome, 1), kHome, 30));
    EXPECT_EQ(admission.admit(order(1, kHome, kFast, 2), at(kHome), 40), Refusal::kNone);
}

TEST(Admission, CapacityCountsReservationsAndFreesTheSourceOnCompletion) {
    Admission admission(config(), {0, 2 * kExtent, 0});
    admission.place(1, kFast, kHome);
    EXPECT_EQ(admission.admit(order(1, kHome, kFast, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.admit(order(2, kHome, kFast, 1), at(kHome), 0), Refusal::kCapacity);
    // The demotion frees its room only once it completes.
    const MigrationOrder down = order(0, kFast, kHome, 1);
    EXPECT_EQ(admission.admit(down, at(kFast), 0), Refusal::kNone);
    EXPECT_EQ(admission.admit(order(2, kHome, kFast, 1), at(kHome), 0), Refusal::kCapacity);
    ASSERT_TRUE(admission.completed(down, kHome, 5));
    EXPECT_EQ(admission.admit(order(2, kHome, kFast, 1), at(kHome), 5), Refusal::kNone);
    // An admitted move that did not happen gives its reservation back.
    admission.abandoned(order(2, kHome, kFast, 1), kHome);
    EXPECT_EQ(admission.used(kFast), kExtent);
}

// The LUN's placement changed by another hand (another gateway's moves, found on takeover):
// the ledger holds what the new placement says, for capacity and quota, keeps the reservations
// of the LUN's migrations in flight, and leaves the other LUNs' holdings alone.
TEST(Admission, ReplacingALunsPlacementRecountsCapacityAndQuota) {
    Admission admission(config(), {0, 2 * kExtent, 0});
    admission.set_tenant(1, "t0");
    admission.set_tenant(2, "t0");
    admission.set_quota("t0", kSlow, 3 * kExtent);
    admission.place(2, kSlow, kHome);  // another LUN of the tenant
    // LUN 1 started with nothing away from home; another gateway filled the fast tier.
    const std::vector<std::uint64_t> filled = {6, 2, 1};
    admission.replace_placement(1, kHome, filled);
    EXPECT_EQ(admission.used(kFast), 2 * kExtent);
    EXPECT_EQ(admission.used(kSlow), 2 * kExtent);
    EXPECT_EQ(admission.tenant_used("t0", kSlow), 2 * kExtent);
    EXPECT_EQ(admission.check(order(3, kHome, kFast, 1), at(kHome), 0), Refusal::kCapacity);
    EXPECT_EQ(admission.admit(order(3, kHome, kSlow, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.check(order(4, kHome, kSlow, 1), at(kHome), 0), Refusal::kQuota);
    // It emptied the fast tier again while extent 3's move was in flight: the move's
    // reservation stays, the room frees.
    admission.replace_placement(1, kHome, std::vector<std::uint64_t>{8, 0, 0});
    EXPECT_EQ(admission.used(kFast), 0u);
    EXPECT_EQ(admission.used(kSlow), 2 * kExtent) << "LUN 2's extent and the reservation";
    EXPECT_EQ(admission.admit(order(5, kHome, kFast, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.admit(order(6, kHome, kFast, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.check(order(7, kHome, kFast, 1), at(kHome), 0), Refusal::kCapacity);
    // Completing moves counted from the new placement finds their source in the ledger.
    ASSERT_TRUE(admission.completed(order(3, kHome, kSlow, 1), kHome, 1));
    ASSERT_TRUE(admission.completed(order(5, kHome, kFast, 1), kHome, 1));
    ASSERT_TRUE(admission.admit(order(5, kFast, kHome, 1), at(kFast), 2) == Refusal::kNone);
    ASSERT_TRUE(admission.completed(order(5, kFast, kHome, 1), kHome, 3));
    EXPECT_EQ(admission.used(kFast), kExtent);  // extent 6's reservation
    admission.abandoned(order(6, kHome, kFast, 1), kHome);
    EXPECT_EQ(admission.used(kFast), 0u);
    EXPECT_EQ(admission.tenant_used("t0", kSlow), 2 * kExtent);
}

// A LUN that grew: pins reach the extents added.
TEST(Admission, PinTableGrowsWithTheLun) {
    PinTable pins(4, 3);
    EXPECT_TRUE(pins.pin(5, 1, kFast).has_value()) << "outside the LUN";
    pins.grow(6);
    EXPECT_EQ(pins.extents(), 6u);
    EXPECT_FALSE(pins.pin(5, 1, kFast).has_value());
    EXPECT_EQ(pins.pinned_tier(5), std::optional<TierId>(kFast));
    pins.grow(2);  // never shrinks
    EXPECT_EQ(pins.extents(), 6u);
    pins.set_home_pinned(true);
    EXPECT_EQ(pins.ranges(), (std::vector<PinnedRange>{{0, 6, kHome}}));
}

TEST(Admission, InvalidStaleAndFullPoolsAreRefused) {
    Admission admission(config(), {0, 0, 0});
    EXPECT_EQ(admission.check(order(0, kHome, kHome, 1), at(kHome), 0), Refusal::kInvalid);
    EXPECT_EQ(admission.check(order(0, kHome, 3, 1), at(kHome), 0), Refusal::kInvalid);
    EXPECT_EQ(admission.check(order(0, kFast, kSlow, 1), at(kHome), 0), Refusal::kStale);
    EXPECT_EQ(admission.admit(order(0, kHome, kFast, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.check(order(0, kHome, kSlow, 1), at(kHome), 0), Refusal::kStale)
        << "an extent in flight is not admitted twice";
    admission.set_pool_full(kSlow, true);
    EXPECT_EQ(admission.check(order(1, kHome, kSlow, 1), at(kHome), 0), Refusal::kPoolFull);
    admission.set_pool_full(kHome, true);
    EXPECT_EQ(admission.check(order(2, kSlow, kHome, 1), at(kSlow), 0), Refusal::kPoolFull);
}

// never_startable() gives the refusals of the first three rules (invalid, stale, pinned
// elsewhere), which check() gives first too, and nothing for an order only the room refuses.
TEST(Admission, NeverStartableIsTheFirstThreeRules) {
    PinTable pins(8, 3);
    ASSERT_FALSE(pins.pin(2, 1, kSlow));
    Admission admission(config(), {0, kExtent, 0});
    const std::vector<std::pair<MigrationOrder, ExtentPlace>> cases = {
        {order(0, kHome, kHome, 1), at(kHome)},  // invalid
        {order(0, kFast, kSlow, 1), at(kHome)},  // stale
        {order(2, kHome, kFast, 1), at(kHome)},  // pinned elsewhere
        {order(3, kHome, kFast, 1), at(kHome)},  // may start
    };
    const std::vector<Refusal> want = {Refusal::kInvalid, Refusal::kStale, Refusal::kPinned,
                                       Refusal::kNone};
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& [o, place] = cases[i];
        EXPECT_EQ(admission.never_startable(o, place, &pins), want[i]) << i;
        if (want[i] != Refusal::kNone) {
            EXPECT_EQ(admission.check(o, place, 0, &pins), want[i]);
        }
    }
    ASSERT_EQ(admission.admit(order(3, kHome, kFast, 1), at(kHome), 0, &pins), Refusal::kNone);
    // The fast tier is full now: the room refuses the next order, but it is not never-startable.
    EXPECT_EQ(admission.check(order(4, kHome, kFast, 1), at(kHome), 0, &pins), Refusal::kCapacity);
    EXPECT_EQ(admission.never_startable(order(4, kHome, kFast, 1), at(kHome), &pins),
              Refusal::kNone);
    EXPECT_EQ(admission.never_startable(order(3, kHome, kFast, 1), at(kHome), &pins),
              Refusal::kStale)
        << "in flight";
}

TEST(Admission, PinsWinOverPolicyOrders) {
    PinTable pins(8, 3);
    ASSERT_FALSE(pins.pin(2, 2, kSlow));
    Admission admission(config(), {0, 0, 0});
    EXPECT_EQ(admission.check(order(2, kHome, kFast, 1), at(kHome), 0, &pins), Refusal::kPinned);
    EXPECT_EQ(admission.check(order(3, kHome, kSlow, 1), at(kHome), 0, &pins), Refusal::kNone);
    EXPECT_EQ(admission.check(order(4, kHome, kFast, 1), at(kHome), 0, &pins), Refusal::kNone);
    // The round: the pin orders come first, the policy's orders for pinned extents go.
    std::vector<TierSpec> specs(3);
    specs[0].name = "hdd";
    specs[1].name = "nvme";
    specs[2].name = "ssd";
    const auto orders = pins.with_pins(
        1, {order(2, kHome, kFast, 1), order(5, kHome, kFast, 1)},
        [](ExtentIndex) { return kHome; }, 10, specs);
    ASSERT_EQ(orders.size(), 3u);
    EXPECT_EQ(orders[0].extent, 2u);
    EXPECT_EQ(orders[0].to, kSlow);
    EXPECT_EQ(orders[0].reason, "pinned to ssd");
    EXPECT_EQ(orders[1].extent, 3u);
    EXPECT_EQ(orders[2].extent, 5u);
    // The home pin: everything goes home, no pin elsewhere is taken, an old version changes
    // nothing.
    const std::uint64_t version = pins.home_pin_version();
    pins.set_home_pinned(true);
    EXPECT_EQ(admission.check(order(4, kHome, kFast, 1), at(kHome), 0, &pins), Refusal::kPinned);
    ASSERT_TRUE(pins.pin(0, 1, kFast));
    EXPECT_EQ(pins.pin(0, 1, kFast)->code, -EBUSY);
    pins.set_home_pinned(false, version);
    EXPECT_TRUE(pins.home_pinned());
    EXPECT_EQ(pins.ranges(), (std::vector<PinnedRange>{{0, 8, kHome}}));
}

TEST(Admission, PinTableRefusesBadRangesAndReplacesOverlap) {
    PinTable pins(6, 4);
    EXPECT_EQ(pins.pin(0, 1, 4)->code, -EINVAL);
    EXPECT_EQ(pins.pin(0, 0, 1)->code, -EINVAL);
    EXPECT_EQ(pins.pin(5, 2, 1)->code, -EINVAL);
    ASSERT_FALSE(pins.pin(1, 5, 1));
    ASSERT_FALSE(pins.pin(2, 1, 3));
    ASSERT_FALSE(pins.pin(1, 1, 2));
    EXPECT_EQ(pins.ranges(), (std::vector<PinnedRange>{{1, 1, 2}, {2, 1, 3}, {3, 3, 1}}));
    pins.unpin(4, 1);
    EXPECT_EQ(pins.ranges(),
              (std::vector<PinnedRange>{{1, 1, 2}, {2, 1, 3}, {3, 1, 1}, {5, 1, 1}}));
}

TEST(Admission, PinTableReplacesItsPinsUnlessAChangeCameFirst) {
    PinTable pins(6, 4);
    ASSERT_FALSE(pins.pin(0, 2, 1));
    const std::uint64_t seen = pins.pins_version();
    // Out of the LUN, of its tiers, empty or overlapping the range before: left out.
    pins.replace({{1, 2, 2}, {2, 1, 3}, {4, 3, 1}, {4, 1, 9}, {5, 0, 1}, {5, 1, 3}}, seen);
    EXPECT_EQ(pins.ranges(), (std::vector<PinnedRange>{{1, 2, 2}, {5, 1, 3}}));
    EXPECT_GT(pins.pins_version(), seen);
    // A list read before that change does not undo it.
    pins.replace({}, seen);
    EXPECT_EQ(pins.ranges(), (std::vector<PinnedRange>{{1, 2, 2}, {5, 1, 3}}));
    pins.unpin(0, 6);
    EXPECT_TRUE(pins.ranges().empty());
    // Pinned home, the LUN keeps no other pin.
    pins.set_home_pinned(true);
    pins.replace({{1, 1, 2}});
    EXPECT_EQ(pins.ranges(), (std::vector<PinnedRange>{{0, 6, 0}}));
    pins.set_home_pinned(false);
    EXPECT_TRUE(pins.ranges().empty());
}

TEST(Admission, RoundKeepsTheBudgetAndConcurrencyCaps) {
    Admission admission(config(), {0, 0, 0});
    std::vector<MigrationOrder> proposed;
    for (ExtentIndex e = 0; e < 6; ++e) proposed.push_back(order(e, kHome, kFast, 1));
    auto place = [](const MigrationOrder&) { return at(kHome); };
    // 3.5 extents of budget, 5 slots: three go, the rest wait for budget.
    auto round = admission.admit_round(proposed, place, 0, 3.5 * kExtent, 5);
    ASSERT_EQ(round.admitted.size(), 3u);
    ASSERT_EQ(round.refused.size(), 3u);
    for (const auto& [o, why] : round.refused) EXPECT_EQ(why, Refusal::kBudget);
    // Enough budget, two slots: two go, the rest wait for a slot.
    Admission second(config(), {0, 0, 0});
    round = second.admit_round(proposed, place, 0, 100.0 * kExtent, 2);
    ASSERT_EQ(round.admitted.size(), 2u);
    for (const auto& [o, why] : round.refused) EXPECT_EQ(why, Refusal::kConcurrency);
}

TEST(Admission, AnExtentJustMovedDoesNotMoveBackWithinTheWindow) {
    constexpr std::uint64_t kWindow = 60'000'000;
    Admission admission(config(kWindow), {0, 0, 0});
    const MigrationOrder up = order(7, kHome, kFast, 1);
    ASSERT_EQ(admission.admit(up, at(kHome), 0), Refusal::kNone);
    ASSERT_TRUE(admission.completed(up, kHome, 1'000'000));
    const MigrationOrder back = order(7, kFast, kHome, 1);
    EXPECT_EQ(admission.check(back, at(kFast), 1'000'000 + kWindow - 1), Refusal::kHysteresis);
    EXPECT_EQ(admission.check(back, at(kFast), 1'000'000 + kWindow), Refusal::kNone);
    // Feedback found the promotion wasted: it may leave at once.
    admission.release_early(1, 7);
    EXPECT_EQ(admission.check(back, at(kFast), 1'000'001), Refusal::kNone);
    // Other extents are not held by it.
    EXPECT_EQ(admission.check(order(8, kHome, kFast, 1), at(kHome), 1'000'001), Refusal::kNone);
}

TEST(Room, HomeNeedsNoRoomAndTheRulesComeInOrder) {
    Room full;
    full.capacity_bytes = 2 * kExtent;
    full.used_bytes = 2 * kExtent;
    full.pool_full = true;
    full.tenant_room = 0;
    EXPECT_EQ(full.refusal(kExtent), Refusal::kCapacity);
    full.capacity_bytes = 0;  // unlimited
    EXPECT_EQ(full.refusal(kExtent), Refusal::kPoolFull);
    full.pool_full = false;
    EXPECT_EQ(full.refusal(kExtent), Refusal::kQuota);
    full.tenant_room = kExtent;
    EXPECT_EQ(full.refusal(kExtent), Refusal::kNone);
    // Home: neither capacity nor quota applies; a full pool still refuses.
    Room home;
    home.home = true;
    home.capacity_bytes = kExtent;
    home.used_bytes = kExtent;
    home.tenant_room = 0;
    EXPECT_EQ(home.refusal(kExtent), Refusal::kNone);
    home.pool_full = true;
    EXPECT_EQ(home.refusal(kExtent), Refusal::kPoolFull);
}

TEST(Room, TheAdmissionsRoomIsWhatItsCheckApplies) {
    Admission admission(config(), {0, 2 * kExtent, 0});
    admission.set_tenant(1, "t0");
    admission.set_quota("t0", kSlow, kExtent);
    admission.place(1, kFast, kHome);
    Room fast = admission.room(1, kFast, kHome);
    EXPECT_FALSE(fast.home);
    EXPECT_EQ(fast.capacity_bytes, 2 * kExtent);
    EXPECT_EQ(fast.used_bytes, kExtent);
    EXPECT_FALSE(fast.tenant_room.has_value());
    EXPECT_EQ(admission.room(1, kSlow, kHome).tenant_room, kExtent);
    EXPECT_TRUE(admission.room(1, kHome, kHome).home);
    ASSERT_EQ(admission.admit(order(2, kHome, kSlow, 1), at(kHome), 0), Refusal::kNone);
    EXPECT_EQ(admission.room(1, kSlow, kHome).tenant_room, 0u);
    EXPECT_EQ(admission.room(1, kSlow, kHome).refusal(kExtent),
              admission.check(order(3, kHome, kSlow, 1), at(kHome), 0));
}

TEST(PlanningLedger, CountsProposalsAndOrdersInFlightAsTheAdmissionReservesThem) {
    Hysteresis hysteresis(10);
    PlanningLedger ledger(kExtent, hysteresis);
    ledger.set_tier(kHome, 0, 0);
    ledger.set_tier(kFast, 3 * kExtent, kExtent);
    ledger.set_tier(kSlow, std::numeric_limits<std::uint64_t>::max(), 5 * kExtent);
    ledger.set_quota(0, kFast, 2 * kExtent, 0);
    ledger.set_quota(0, kSlow, std::numeric_limits<std::uint64_t>::max(), 0);  // none
    ledger.set_quota(1, kFast, std::nullopt, 0);
    // An order of tenant 0 in flight to kFast: its quota counts it (the tier's used bytes
    // already do, once admitted); one home counts nowhere.
    ledger.in_flight(0, kFast, kHome);
    ledger.in_flight(0, kHome, kHome);
    EXPECT_EQ(ledger.room(0, kFast, kHome).used_bytes, kExtent);
    EXPECT_EQ(ledger.room(0, kFast, kHome).tenant_room, kExtent);
    EXPECT_TRUE(ledger.fits(0, kFast, kHome));
    ledger.reserve(0, kFast, kHome);
    EXPECT_EQ(ledger.room(0, kFast, kHome).refusal(kExtent), Refusal::kQuota);
    EXPECT_TRUE(ledger.fits(1, kFast, kHome));
    ledger.reserve(1, kFast, kHome);
    EXPECT_EQ(ledger.room(1, kFast, kHome).refusal(kExtent), Refusal::kCapacity);
    // kFast is the home of another LUN's extents: they go home whatever it holds.
    EXPECT_TRUE(ledger.fits(0, kFast, kFast));
    EXPECT_TRUE(ledger.fits(0, kSlow, kHome));  // unlimited, no quota
    // Settledness is the hysteresis ledger's.
    hysteresis.moved(make_extent_key(1, 4), 100);
    EXPECT_FALSE(ledger.settled(make_extent_key(1, 4), 109));
    EXPECT_TRUE(ledger.settled(make_extent_key(1, 4), 110));
}

TEST(Admission, SameProposalsGiveTheSameAnswerInTheSameOrder) {
    auto run = [] {
        Admission admission(config(), {0, 3 * kExtent, 0});
        admission.set_tenant(2, "t0");
        admission.set_quota("t0", kSlow, kExtent);
        std::vector<MigrationOrder> proposed;
        for (LunId lun = 1; lun <= 3; ++lun)
            for (ExtentIndex e = 0; e < 4; ++e)
                proposed.push_back(order(e, kHome, (e % 2) ? kFast : kSlow, lun));
        return admission.admit_round(
            proposed, [](const MigrationOrder&) { return at(kHome); }, 0, 8.0 * kExtent, 32);
    };
    const AdmittedRound a = run();
    const AdmittedRound b = run();
    ASSERT_EQ(a.admitted.size(), b.admitted.size());
    for (std::size_t i = 0; i < a.admitted.size(); ++i) {
        EXPECT_EQ(a.admitted[i].lun, b.admitted[i].lun);
        EXPECT_EQ(a.admitted[i].extent, b.admitted[i].extent);
    }
    // In proposal order: LUN 1's extents first.
    ASSERT_FALSE(a.admitted.empty());
    EXPECT_EQ(a.admitted.front().lun, 1u);
    EXPECT_EQ(a.admitted.front().extent, 0u);
    ASSERT_EQ(a.refused.size(), b.refused.size());
    for (std::size_t i = 0; i < a.refused.size(); ++i)
        EXPECT_EQ(a.refused[i].second, b.refused[i].second);
}

// Random orders, completions and abandonments: what the ledger holds never passes a tier's
// capacity or a tenant's quota.
TEST(Admission, RandomOrdersNeverBreakCapacityOrQuota) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937_64 rng(seed);
    const std::vector<std::uint64_t> capacity = {0, 5 * kExtent, 9 * kExtent};
    Admission admission(config(), capacity);
    const std::uint64_t quota = 4 * kExtent;
    for (LunId lun = 1; lun <= 4; ++lun) admission.set_tenant(lun, "t" + std::to_string(lun % 2));
    admission.set_quota("t0", kFast, quota);
    admission.tenants().set_measured("t0", {{"elsewhere", {{admission.pool(kFast), kExtent}}}});
    admission.set_quota("t1", kSlow, quota);
    std::map<ExtentKey, TierId> where;
    std::vector<std::pair<MigrationOrder, bool>> flights;  // order, will it complete
    for (int step = 0; step < 20000; ++step) {
        if (!flights.empty() && rng() % 3 == 0) {
            const std::size_t i = rng() % flights.size();
            const auto [o, ok] = flights[i];
            flights.erase(flights.begin() + static_cast<std::ptrdiff_t>(i));
            if (ok) {
                ASSERT_TRUE(admission.completed(o, kHome, step));
                where[make_extent_key(o.lun, o.extent)] = o.to;
            } else {
                admission.abandoned(o, kHome);
            }
            continue;
        }
        const LunId lun = 1 + rng() % 4;
        const ExtentIndex e = rng() % 16;
        const auto it = where.find(make_extent_key(lun, e));
        const TierId now = it == where.end() ? kHome : it->second;
        const auto to = static_cast<TierId>(rng() % 3);
        const MigrationOrder o = order(e, now, to, lun);
        if (admission.admit(o, at(now), step) == Refusal::kNone)
            flights.emplace_back(o, rng() % 4 != 0);
        for (TierId t = 1; t < 3; ++t) ASSERT_LE(admission.used(t), capacity[t]);
        ASSERT_LE(admission.tenant_used("t0", kFast) + kExtent, quota);
        ASSERT_LE(admission.tenant_used("t1", kSlow), quota);
    }
}

}  // namespace
}  // namespace rbdtier
