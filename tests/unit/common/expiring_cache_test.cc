// ExpiringCache on the test's own times: a value is handed out while younger than the max age and
// not from then on; store() restarts an entry's age, update() keeps it (and starts a key without a
// live entry from a default value); expired entries leave when a value is stored; erase_if drops
// what its predicate names; a cache without an age bound keeps its entries; threads share it.
#include "common/expiring_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rbdtier {
namespace {

using namespace std::chrono_literals;
using Cache = ExpiringCache<std::string, int>;
using Clock = Cache::Clock;

TEST(ExpiringCache, AValueIsHandedOutUntilItIsAsOldAsTheMaxAge) {
    Cache cache(10s);
    const Clock::time_point t0{};
    EXPECT_FALSE(cache.find("a", t0));
    cache.store("a", 1, t0);
    EXPECT_EQ(cache.find("a", t0), 1);
    EXPECT_EQ(cache.find("a", t0 + 10s - 1ns), 1);
    EXPECT_FALSE(cache.find("a", t0 + 10s));
    EXPECT_FALSE(cache.find("b", t0)) << "another key";
    EXPECT_EQ(cache.size(), 1u) << "an expired entry stays until a value is stored";
}

TEST(ExpiringCache, StoreRestartsTheAgeAndUpdateKeepsIt) {
    Cache cache(10s);
    const Clock::time_point t0{};
    cache.store("a", 1, t0);
    cache.store("a", 2, t0 + 8s);
    EXPECT_EQ(cache.find("a", t0 + 17s), 2) << "stored again at 8 s: young until 18 s";
    cache.update("a", t0 + 9s, [](int& v) { v += 10; });
    EXPECT_EQ(cache.find("a", t0 + 17s), 12);
    EXPECT_FALSE(cache.find("a", t0 + 18s)) << "an update does not make the entry young again";
    // A key without a live entry starts from a default value, stored at the update's time.
    cache.update("a", t0 + 20s, [](int& v) {
        EXPECT_EQ(v, 0);
        v = 5;
    });
    cache.update("b", t0 + 20s, [](int& v) { v = 7; });
    EXPECT_EQ(cache.find("a", t0 + 29s), 5);
    EXPECT_EQ(cache.find("b", t0 + 29s), 7);
    EXPECT_FALSE(cache.find("b", t0 + 30s));
}

TEST(ExpiringCache, ExpiredEntriesLeaveWhenAValueIsStored) {
    Cache cache(4s);
    Clock::time_point now{};
    for (int i = 0; i < 100; ++i, now += 5s) cache.store("key-" + std::to_string(i), i, now);
    EXPECT_EQ(cache.size(), 1u) << "entries of keys nobody asks for any more must not pile up";
    cache.update("other", now + 10s, [](int& v) { v = 1; });
    EXPECT_EQ(cache.size(), 1u) << "an update drops them too";
}

TEST(ExpiringCache, EraseIfDropsWhatItNamesAndEraseAndClearTheRest) {
    Cache cache(10s);
    const Clock::time_point t0{};
    cache.store("a", 1, t0);
    cache.store("b", 2, t0);
    cache.store("c", 3, t0);
    EXPECT_EQ(cache.erase_if([](const std::string&, int v) { return v == 2; }), 1u);
    EXPECT_FALSE(cache.find("b", t0));
    EXPECT_EQ(cache.find("a", t0), 1);
    cache.erase("a");
    EXPECT_FALSE(cache.find("a", t0));
    EXPECT_EQ(cache.size(), 1u);
    cache.clear();
    EXPECT_EQ(cache.size(), 0u);
}

TEST(ExpiringCache, WithoutAnAgeBoundEntriesStayUntilReplacedOrErased) {
    ExpiringCache<std::string, std::shared_ptr<const int>> cache(Clock::duration::max());
    const Clock::time_point t0{};
    const auto one = std::make_shared<const int>(1);
    cache.store("a", one, t0);
    EXPECT_EQ(cache.find("a", t0 + std::chrono::hours(24 * 365 * 100)), one);
    cache.store("b", one, t0 + std::chrono::hours(24 * 365 * 100));
    EXPECT_EQ(cache.size(), 2u);
}

// Threads storing, updating and finding keys at once: every update is counted once (run under a
// thread sanitizer, any unguarded access shows).
TEST(ExpiringCache, ThreadsShareIt) {
    Cache cache(Clock::duration::max());
    const Clock::time_point t0{};
    constexpr int kThreads = 4;
    constexpr int kUpdates = 1000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&cache, t0, t] {
            for (int i = 0; i < kUpdates; ++i) {
                cache.update("count", t0, [](int& v) { ++v; });
                cache.store("thread-" + std::to_string(t), i, t0);
                (void)cache.find("count", t0);
            }
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(cache.find("count", t0), kThreads * kUpdates);
    EXPECT_EQ(cache.find("thread-0", t0), kUpdates - 1);
    EXPECT_EQ(cache.size(), 1u + kThreads);
}

}  // namespace
}  // namespace rbdtier
