// Unit tests of the lock-free FreeList used for per-command contexts.
#include "handler/free_list.h"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/heap_bytes.h"

namespace rbdtier {
namespace {

struct Slot {
    std::atomic<int> owner{0};
};

TEST(FreeList, HandsOutEachSlotOnceThenEmpty) {
    FreeList<Slot> list(8);
    std::set<Slot*> seen;
    for (int i = 0; i < 8; ++i) {
        Slot* s = list.acquire();
        ASSERT_NE(s, nullptr);
        EXPECT_TRUE(list.owns(s));
        EXPECT_TRUE(seen.insert(s).second);
    }
    EXPECT_EQ(list.acquire(), nullptr);
    Slot* back = *seen.begin();
    list.release(back);
    EXPECT_EQ(list.acquire(), back);
    Slot outside;
    EXPECT_FALSE(list.owns(&outside));
}

TEST(FreeList, ConcurrentAcquireReleaseNeverSharesASlot) {
    constexpr int kThreads = 4;
    constexpr int kRounds = 50000;
    FreeList<Slot> list(3);  // fewer slots than threads: contention and exhaustion
    std::atomic<int> violations{0};
    std::atomic<long> acquired{0};
    std::vector<std::thread> threads;
    for (int t = 1; t <= kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                Slot* s = list.acquire();
                if (s == nullptr) continue;
                int expected = 0;
                if (!s->owner.compare_exchange_strong(expected, t)) violations++;
                acquired++;
                expected = t;
                if (!s->owner.compare_exchange_strong(expected, 0)) violations++;
                list.release(s);
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(violations.load(), 0);
    EXPECT_GT(acquired.load(), 0);
    // Everything came back: all 3 slots can be taken again, no more.
    EXPECT_NE(list.acquire(), nullptr);
    EXPECT_NE(list.acquire(), nullptr);
    EXPECT_NE(list.acquire(), nullptr);
    EXPECT_EQ(list.acquire(), nullptr);
}

// Slots the size of a command context, as many as a LUN queues: none exists before it is needed.
struct Context {
    char bytes[272] = {};
};

TEST(FreeList, HoldsNoSlotBeforeOneIsAcquired) {
    const std::size_t before = test_support::heap_bytes();
    auto list = std::make_unique<FreeList<Context>>(512);
    const std::size_t idle = test_support::heap_bytes() - before;
    std::cout << "free list of 512 contexts, none used: " << idle << " bytes\n";
    EXPECT_LE(idle, 1024u);
    // Sixteen in flight at a time (QD16), over and over: the slots of sixteen, give or take a
    // chunk, not of 512.
    for (int round = 0; round < 100; ++round) {
        std::vector<Context*> held;
        for (int i = 0; i < 16; ++i) held.push_back(list->acquire());
        for (Context* c : held) {
            ASSERT_NE(c, nullptr);
            ASSERT_TRUE(list->owns(c));
            list->release(c);
        }
    }
    const std::size_t used = test_support::heap_bytes() - before;
    std::cout << "after QD16: " << used << " bytes\n";
    EXPECT_LE(used, 2 * 32 * sizeof(Context) + 1024);
}

TEST(FreeList, HandsOutExactlyItsCapacityAcrossChunks) {
    for (const std::uint32_t capacity : {1u, 31u, 32u, 33u, 100u}) {
        FreeList<Context> list(capacity);
        std::set<Context*> seen;
        for (std::uint32_t i = 0; i < capacity; ++i) {
            Context* c = list.acquire();
            ASSERT_NE(c, nullptr) << capacity;
            EXPECT_TRUE(list.owns(c));
            EXPECT_TRUE(seen.insert(c).second);
        }
        EXPECT_EQ(list.acquire(), nullptr) << capacity;
        for (Context* c : seen) list.release(c);
        std::set<Context*> again;
        for (std::uint32_t i = 0; i < capacity; ++i) again.insert(list.acquire());
        EXPECT_EQ(again, seen) << capacity;  // the same slots, reused
        EXPECT_EQ(list.acquire(), nullptr) << capacity;
        Context outside;
        EXPECT_FALSE(list.owns(&outside));
    }
}

}  // namespace
}  // namespace rbdtier
