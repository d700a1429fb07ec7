// EventRing: order, capacity and drops across many laps and producers; memory that follows use
// (a ring nobody writes to holds no slots).
#include "engine/event_ring.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/heap_bytes.h"

namespace rbdtier {
namespace {

IoEvent numbered(std::uint64_t n, InitiatorId producer = 0) {
    IoEvent e;
    e.time_us = n;
    e.initiator = producer;
    return e;
}

TEST(EventRing, UnusedRingHoldsNoSlots) {
    // The size of a LUN's ring (LunRoundsOptions::event_ring): 65,536 slots of 48 bytes.
    const std::size_t before = test_support::heap_bytes();
    auto ring = std::make_unique<EventRing>(1 << 16);
    const std::size_t held = test_support::heap_bytes() - before;
    EXPECT_EQ(ring->capacity(), 1u << 16);
    EXPECT_LE(held, 4096u) << "an empty ring of 65,536 events holds " << held << " bytes";
}

TEST(EventRing, SlotsFollowTheEventsHeld) {
    const std::size_t before = test_support::heap_bytes();
    auto ring = std::make_unique<EventRing>(1 << 16);
    bool contended = false;
    for (std::uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(ring->try_push(numbered(i), contended));
    const std::size_t held = test_support::heap_bytes() - before;
    // 100 events: one chunk of slots, not the whole ring.
    EXPECT_LE(held, 64u * 1024) << "a ring holding 100 events holds " << held << " bytes";
}

TEST(EventRing, KeepsOrderAndCapacityOverManyLaps) {
    // Capacities below, at and above one chunk of slots.
    for (const std::size_t capacity :
         {std::size_t{2}, std::size_t{1000}, std::size_t{1024}, std::size_t{5000}}) {
        EventRing ring(capacity);
        const std::size_t n = ring.capacity();
        std::uint64_t pushed = 0;
        std::uint64_t popped = 0;
        bool contended = false;
        IoEvent out;
        for (int lap = 0; lap < 5; ++lap) {
            // Fill it: exactly capacity() events go in, the next is refused.
            for (std::size_t i = 0; i < n; ++i)
                ASSERT_TRUE(ring.try_push(numbered(pushed++), contended)) << capacity;
            EXPECT_FALSE(ring.try_push(numbered(pushed), contended)) << capacity;
            // Take part of it out, in order, and put as many back.
            for (std::size_t i = 0; i < n / 3 + 1; ++i) {
                ASSERT_TRUE(ring.try_pop(out));
                EXPECT_EQ(out.time_us, popped++);
            }
            for (std::size_t i = 0; i < n / 3 + 1; ++i)
                ASSERT_TRUE(ring.try_push(numbered(pushed++), contended));
            EXPECT_FALSE(ring.try_push(numbered(pushed), contended));
            while (ring.try_pop(out)) EXPECT_EQ(out.time_us, popped++);
            EXPECT_EQ(popped, pushed) << capacity;
        }
    }
}

TEST(EventRing, ManyProducersOneConsumerLoseNothingThatFits) {
    constexpr int kProducers = 4;
    constexpr std::uint64_t kEach = 50'000;
    EventRing ring(kProducers * kEach);  // room for all: nothing may be dropped
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&ring, p] {
            bool contended = false;
            for (std::uint64_t i = 0; i < kEach; ++i)
                ASSERT_TRUE(ring.try_push(numbered(i, static_cast<InitiatorId>(p)), contended));
        });
    }
    std::vector<std::uint64_t> next(kProducers, 0);
    std::uint64_t total = 0;
    IoEvent out;
    // Pops while they push, until every event arrived or the deadline passed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (total < kProducers * kEach && std::chrono::steady_clock::now() < deadline) {
        while (ring.try_pop(out)) {
            ASSERT_LT(out.initiator, static_cast<InitiatorId>(kProducers));
            EXPECT_EQ(out.time_us, next[out.initiator]++);  // each producer's events in order
            ++total;
        }
    }
    for (auto& t : producers) t.join();
    EXPECT_EQ(total, kProducers * kEach);
}

}  // namespace
}  // namespace rbdtier
