// Unit tests of the lock-free FreeList used for per-command contexts.
#include "handler/free_list.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

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

}  // namespace
}  // namespace rbdtier
