#include "ceph/extent_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "tests/support/heap_bytes.h"

namespace rbdtier::ceph {
namespace {

using namespace std::chrono_literals;

TEST(ExtentGate, NewExtentsAreHomeAndFree) {
    ExtentGate gate(10);
    EXPECT_EQ(gate.extents(), 10u);
    EXPECT_EQ(gate.tier(9), 0);
    EXPECT_EQ(gate.in_flight(9), 0u);
    EXPECT_EQ(gate.write_version(9), 0u);
}

TEST(ExtentGate, EnterLeaveCountsAndVersions) {
    ExtentGate gate(4);
    gate.set_tier(2, 3);
    auto t = gate.enter(2);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, 3);
    EXPECT_EQ(gate.in_flight(2), 1u);
    gate.leave(2, /*wrote=*/true);
    EXPECT_EQ(gate.in_flight(2), 0u);
    EXPECT_EQ(gate.write_version(2), 1u);
    ASSERT_TRUE(gate.enter(2));
    gate.leave(2, /*wrote=*/false);
    EXPECT_EQ(gate.write_version(2), 1u);
}

TEST(ExtentGate, HeldExtentParksAndReleaseResumesOnNewTier) {
    ExtentGate gate(4);
    gate.hold(1);
    EXPECT_FALSE(gate.enter(1));
    int resumed = 0;
    ExtentGate::Deferred d = [&] { ++resumed; };
    ASSERT_EQ(gate.defer(1, d), ExtentGate::Park::kParked);
    EXPECT_EQ(resumed, 0);
    gate.release(1, ExtentGate::TierIndex{2});
    EXPECT_EQ(resumed, 1);
    EXPECT_EQ(gate.tier(1), 2);
    auto t = gate.enter(1);
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, 2);
    gate.leave(1, false);
}

// A held extent whose tier is not known: parked sub-I/Os are resumed (to meet the refusal), new
// ones are refused, and release() routes it and ends the refusal.
TEST(ExtentGate, RefusedHeldExtentRefusesUntilReleased) {
    ExtentGate gate(2);
    gate.hold(1);
    int resumed = 0;
    ExtentGate::Deferred d = [&] { ++resumed; };
    ASSERT_EQ(gate.defer(1, d), ExtentGate::Park::kParked);
    gate.refuse_held(1);
    EXPECT_EQ(resumed, 1);
    EXPECT_TRUE(gate.refused(1));
    EXPECT_FALSE(gate.enter(1));
    ExtentGate::Deferred again = [&] { ++resumed; };
    EXPECT_EQ(gate.defer(1, again), ExtentGate::Park::kRefused);
    EXPECT_TRUE(static_cast<bool>(again));  // not taken
    EXPECT_FALSE(gate.refused(0));
    gate.release(1, ExtentGate::TierIndex{3});
    EXPECT_FALSE(gate.refused(1));
    EXPECT_EQ(gate.tier(1), 3);
    ASSERT_TRUE(gate.enter(1));
    gate.leave(1, false);
    EXPECT_EQ(resumed, 1);
}

TEST(ExtentGate, DeferOnFreeExtentRefuses) {
    ExtentGate gate(1);
    bool ran = false;
    ExtentGate::Deferred d = [&] { ran = true; };
    EXPECT_EQ(gate.defer(0, d), ExtentGate::Park::kFree);
    EXPECT_TRUE(static_cast<bool>(d));  // not taken
    EXPECT_FALSE(ran);
}

TEST(ExtentGate, RoutingNobodyRenewsIsValidForever) {
    ExtentGate gate(1);
    EXPECT_EQ(gate.lease(std::chrono::steady_clock::now() + std::chrono::hours(24 * 365)),
              ExtentGate::Lease::kValid);
}

TEST(ExtentGate, ExpiredLeaseParksUntilExtended) {
    ExtentGate gate(2);
    const auto now = std::chrono::steady_clock::now();
    gate.extend_lease(now + 10s);
    EXPECT_EQ(gate.lease(now), ExtentGate::Lease::kValid);
    EXPECT_EQ(gate.lease(now + 10s), ExtentGate::Lease::kExpired);  // it ran out: not renewed
    gate.suspend();
    EXPECT_EQ(gate.lease(now), ExtentGate::Lease::kExpired);
    int resumed = 0;
    ExtentGate::Deferred d = [&] { ++resumed; };
    ASSERT_TRUE(gate.defer_until_routable(d));
    EXPECT_EQ(resumed, 0);
    gate.extend_lease(std::chrono::steady_clock::now() + 10s);
    EXPECT_EQ(resumed, 1);
    EXPECT_EQ(gate.lease(std::chrono::steady_clock::now()), ExtentGate::Lease::kValid);
    ExtentGate::Deferred again = [&] { ++resumed; };
    EXPECT_FALSE(gate.defer_until_routable(again));  // valid: route now
    EXPECT_TRUE(static_cast<bool>(again));
}

TEST(ExtentGate, RefusedLeaseResumesParkedAndRefusesUntilExtended) {
    ExtentGate gate(1);
    gate.suspend();
    int resumed = 0;
    ExtentGate::Deferred d = [&] { ++resumed; };
    ASSERT_TRUE(gate.defer_until_routable(d));
    gate.refuse();
    EXPECT_EQ(resumed, 1);
    const auto now = std::chrono::steady_clock::now();
    EXPECT_EQ(gate.lease(now), ExtentGate::Lease::kRefused);
    ExtentGate::Deferred more = [&] { ++resumed; };
    EXPECT_FALSE(gate.defer_until_routable(more));  // refused: answer now
    gate.extend_lease(now + 10s);
    EXPECT_EQ(gate.lease(now), ExtentGate::Lease::kValid);
    gate.fence();  // ends a valid lease at once
    EXPECT_EQ(gate.lease(now), ExtentGate::Lease::kFenced);
    gate.extend_lease(now + 10s);
    EXPECT_EQ(gate.lease(now), ExtentGate::Lease::kValid);
}

TEST(ExtentGate, WaitDrainedTimesOutWhileInFlightThenSucceeds) {
    ExtentGate gate(1);
    ASSERT_TRUE(gate.enter(0));
    gate.hold(0);
    EXPECT_FALSE(gate.wait_drained(0, std::chrono::steady_clock::now() + 20ms));
    std::thread t([&] { gate.leave(0, true); });
    EXPECT_TRUE(gate.wait_drained(0, std::chrono::steady_clock::now() + 10s));
    t.join();
    gate.release(0);
}

TEST(ExtentGate, GrowKeepsStateAndAddsHomeExtents) {
    ExtentGate gate(3);
    gate.set_tier(2, 1);
    gate.grow(200000);  // crosses into further chunks
    EXPECT_EQ(gate.extents(), 200000u);
    EXPECT_EQ(gate.tier(2), 1);
    EXPECT_EQ(gate.tier(199999), 0);
    gate.grow(5);  // never shrinks
    EXPECT_EQ(gate.extents(), 200000u);
}

// Many I/O threads against one executor that keeps moving extents: no sub-I/O may be inside an
// extent between a successful drain and the release, and every parked sub-I/O runs once.
// The placement epoch moves when the routing changes by another hand than a migration's commit
// (reroute to another tier, set_tier, grow), and only then.
TEST(ExtentGate, PlacementEpochCountsChangesByOtherHands) {
    ExtentGate gate(4);
    const std::uint64_t start = gate.placement_epoch();
    gate.hold(1);
    gate.release(1, 2);  // a migration's own commit
    EXPECT_EQ(gate.placement_epoch(), start);
    EXPECT_TRUE(gate.reroute(1, 2, std::chrono::steady_clock::now() + 1s));  // already there
    EXPECT_EQ(gate.placement_epoch(), start);
    EXPECT_TRUE(gate.reroute(1, 0, std::chrono::steady_clock::now() + 1s));
    EXPECT_EQ(gate.placement_epoch(), start + 1);
    gate.set_tier(3, 1);
    EXPECT_EQ(gate.placement_epoch(), start + 2);
    gate.grow(4);  // no growth
    EXPECT_EQ(gate.placement_epoch(), start + 2);
    gate.grow(6);
    EXPECT_EQ(gate.placement_epoch(), start + 3);
}

TEST(ExtentGate, ConcurrentIoNeverOverlapsAHeldDrainedExtent) {
    constexpr std::uint64_t kExtents = 8;
    ExtentGate gate(kExtents);
    std::atomic<int> inside[kExtents] = {};
    std::atomic<bool> drained_flag[kExtents] = {};
    std::atomic<bool> stop{false};
    std::atomic<long> done{0}, parked_ran{0}, violations{0};

    auto io = [&](unsigned seed) {
        std::mt19937 rng(seed);
        while (!stop.load()) {
            const std::uint64_t e = rng() % kExtents;
            for (;;) {
                if (auto t = gate.enter(e)) {
                    inside[e].fetch_add(1);
                    if (drained_flag[e].load()) violations.fetch_add(1);
                    inside[e].fetch_sub(1);
                    gate.leave(e, rng() & 1);
                    done.fetch_add(1);
                    break;
                }
                std::atomic<bool> resumed{false};
                ExtentGate::Deferred d = [&] {
                    resumed.store(true);
                    parked_ran.fetch_add(1);
                };
                if (gate.defer(e, d) == ExtentGate::Park::kParked) {
                    const auto deadline = std::chrono::steady_clock::now() + 10s;
                    while (!resumed.load() && std::chrono::steady_clock::now() < deadline) {
                        std::this_thread::yield();
                    }
                    ASSERT_TRUE(resumed.load());
                }
            }
        }
    };
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < 3; ++i) threads.emplace_back(io, i + 1);

    std::mt19937 rng(42);
    // At least 2000 moves, and enough I/O to interleave with them however the threads are run.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (int round = 0;
         (round < 2000 || done.load() < 5000) && std::chrono::steady_clock::now() < deadline;
         ++round) {
        const std::uint64_t e = rng() % kExtents;
        gate.hold(e);
        ASSERT_TRUE(gate.wait_drained(e, std::chrono::steady_clock::now() + 10s));
        drained_flag[e].store(true);
        EXPECT_EQ(inside[e].load(), 0);
        drained_flag[e].store(false);
        gate.release(e, static_cast<ExtentGate::TierIndex>(rng() % 4));
    }
    stop.store(true);
    for (auto& t : threads) t.join();
    EXPECT_EQ(violations.load(), 0);
    EXPECT_GE(done.load(), 5000);
    for (std::uint64_t e = 0; e < kExtents; ++e) EXPECT_EQ(gate.in_flight(e), 0u);
}

// Memory follows use: an extent nobody wrote to, routed or held costs nothing, and the gate's
// directory grows with the LUN's size (a few hundred bytes up to 256 GiB), not a fixed table for
// the largest LUN. 25,600 extents: a 100 GiB LUN of 4 MiB extents.
TEST(ExtentGate, AnIdleGateHoldsNoPerExtentState) {
    if (!rbdtier::test_support::heap_bytes_counted()) GTEST_SKIP() << "heap not counted here";
    const std::size_t before = rbdtier::test_support::heap_bytes();
    auto gate = std::make_unique<ExtentGate>(25'600);
    // Reading every extent's routing (as counting extents per tier does) allocates nothing.
    for (std::uint64_t e = 0; e < gate->extents(); ++e) {
        ASSERT_EQ(gate->tier(e), 0);
        ASSERT_EQ(gate->in_flight(e), 0u);
        ASSERT_EQ(gate->write_version(e), 0u);
    }
    const std::size_t held = rbdtier::test_support::heap_bytes() - before;
    std::cout << "idle gate of 25,600 extents: " << held << " bytes\n";
    EXPECT_LE(held, 1024u);
}

TEST(ExtentGate, StateIsKeptForTheExtentsUsedOnly) {
    const std::size_t before = rbdtier::test_support::heap_bytes();
    auto gate = std::make_unique<ExtentGate>(25'600);
    // I/O on two extents far apart, one moved away from home.
    for (const std::uint64_t e : {std::uint64_t{3}, std::uint64_t{25'000}}) {
        ASSERT_TRUE(gate->enter(e));
        gate->leave(e, /*wrote=*/true);
    }
    gate->set_tier(12'000, 2);
    const std::size_t held = rbdtier::test_support::heap_bytes() - before;
    std::cout << "gate of 25,600 extents, 3 used: " << held << " bytes\n";
    EXPECT_LE(held, 3 * 56u * 1024);  // three chunks of extents at most
    EXPECT_EQ(gate->write_version(3), 1u);
    EXPECT_EQ(gate->write_version(25'000), 1u);
    EXPECT_EQ(gate->write_version(4), 0u);
    EXPECT_EQ(gate->tier(12'000), 2);
    EXPECT_EQ(gate->tier(12'001), 0);
}

TEST(ExtentGate, RefusesALunBeyondOnePebibyte) {
    ExtentGate gate(1);
    gate.grow(std::uint64_t{1} << 28);  // 1 PiB of 4 MiB extents
    EXPECT_EQ(gate.tier((std::uint64_t{1} << 28) - 1), 0);
    EXPECT_THROW(gate.grow((std::uint64_t{1} << 28) + 1), std::length_error);
}

}  // namespace
}  // namespace rbdtier::ceph
