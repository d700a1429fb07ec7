// ExtentTable: every entry inserted is found again, with what was written in it, however often
// the table grew in place; rebuild() keeps exactly what its predicate accepts, in place (the
// heap never holds a second array of slots meanwhile), and the table serves lookups and inserts
// after it as before.
#include "engine/extent_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <iostream>
#include <random>
#include <unordered_map>

#include "tests/support/heap_bytes.h"
#include "tests/support/seed.h"

namespace rbdtier {
namespace {

TEST(ExtentTable, EntriesSurviveGrowingInPlace) {
    ExtentTable table(1'000'000, 16);
    constexpr std::uint32_t kEntries = 200'000;
    for (std::uint32_t i = 0; i < kEntries; ++i) {
        ExtentStats* s = table.find_or_insert(make_extent_key(i % 7, i));
        ASSERT_NE(s, nullptr);
        s->last_tick = i + 1;
    }
    EXPECT_EQ(table.size(), kEntries);
    EXPECT_GT(table.capacity(), kEntries);
    EXPECT_EQ(table.memory_bytes(), table.capacity() * sizeof(ExtentStats));
    for (std::uint32_t i = 0; i < kEntries; ++i) {
        const ExtentStats* s = table.find(make_extent_key(i % 7, i));
        ASSERT_NE(s, nullptr) << "entry " << i;
        EXPECT_EQ(s->last_tick, i + 1);
    }
    EXPECT_EQ(table.find(make_extent_key(1, kEntries + 1)), nullptr);
    std::size_t seen = 0;
    table.for_each([&](const ExtentStats&) { ++seen; });
    EXPECT_EQ(seen, kEntries);

    table.rebuild([](const ExtentStats& s) { return s.last_tick % 2 == 0; });
    EXPECT_EQ(table.size(), kEntries / 2);
    for (std::uint32_t i = 0; i < kEntries; ++i)
        EXPECT_EQ(table.find(make_extent_key(i % 7, i)) != nullptr, (i + 1) % 2 == 0);
}

TEST(ExtentTable, HoldsNoMoreThanItsLimit) {
    ExtentTable table(100, 16);
    for (std::uint32_t i = 0; i < 100; ++i) ASSERT_NE(table.find_or_insert(i + 1), nullptr);
    EXPECT_EQ(table.find_or_insert(1000), nullptr);
    EXPECT_NE(table.find_or_insert(5), nullptr) << "an entry it holds is still found";
}

// A table of `entries` extents of a few LUNs, each entry's last_tick its insertion number + 1.
void fill(ExtentTable& table, std::uint32_t entries) {
    for (std::uint32_t i = 0; i < entries; ++i) {
        ExtentStats* s = table.find_or_insert(make_extent_key(i % 5, i));
        ASSERT_NE(s, nullptr);
        s->last_tick = i + 1;
    }
}

TEST(ExtentTable, RebuildHoldsNoSecondArray) {
    if (!test_support::heap_bytes_counted()) GTEST_SKIP() << "heap not counted by glibc";
    ExtentTable table(10'000'000);
    fill(table, 800'000);
    const std::size_t table_bytes = table.memory_bytes();
    // The predicate runs inside rebuild(): it samples what the heap holds there (every 64th
    // call; a heap sample walks malloc's arenas), and the heap after it is measured too.
    const std::size_t before = test_support::heap_bytes();
    std::size_t peak = before;
    std::uint64_t calls = 0;
    table.rebuild([&](const ExtentStats& s) {
        if (calls++ % 64 == 0) peak = std::max(peak, test_support::heap_bytes());
        return s.last_tick % 2 == 0;
    });
    const std::size_t after = test_support::heap_bytes();
    peak = std::max(peak, after);
    EXPECT_EQ(table.size(), 400'000u);
    // What rebuild() may add to the table's own array: a bit per slot (1/320 of the slots).
    EXPECT_LE(peak - before, table_bytes / 256 + 4096)
        << "the table held " << table_bytes << " B; rebuild() added " << peak - before << " B";
    EXPECT_LT(after, before) << "the table shrank to fit what it kept";
    EXPECT_LE(table.memory_bytes(), table_bytes * 2 / 3);
    std::cout << "rebuild() of 800,000 entries keeping half: table " << table_bytes << " B, then "
              << table.memory_bytes() << " B; the heap held at most " << peak - before
              << " B more meanwhile\n";
}

// Random keys in random tables, random predicates (all, none, any share between, or the entries
// used since a random tick, as idle eviction asks), rebuilt again and again with inserts in
// between, the first time before any insert: every kept entry is found with its content, every
// dropped one is gone, and for_each() visits exactly the kept ones.
TEST(ExtentTable, RebuildKeepsExactlyWhatItsPredicateAccepts) {
    const std::uint32_t seed = test_support::test_seed();
    SCOPED_TRACE(test_support::seed_note(seed));
    std::mt19937_64 rng(seed);
    for (int table_case = 0; table_case < 8; ++table_case) {
        ExtentTable table(1'000'000, 16 + rng() % 4096);
        std::unordered_map<ExtentKey, std::uint32_t> expected;  // key -> last_tick
        std::uint32_t tick = 0;
        table.rebuild([](const ExtentStats&) { return true; });
        EXPECT_EQ(table.size(), 0u);
        for (int round = 0; round < 6; ++round) {
            const std::size_t inserts = rng() % 40'000;
            // Keys from a small range collide (and probe) more than keys from the whole space.
            const std::uint64_t key_range = round % 2 == 0 ? 100'000 : (1ull << 40);
            for (std::size_t i = 0; i < inserts; ++i) {
                const ExtentKey key =
                    make_extent_key(static_cast<LunId>(rng() % 8), rng() % key_range);
                ExtentStats* s = table.find_or_insert(key);
                ASSERT_NE(s, nullptr);
                s->last_tick = ++tick;
                expected[key] = tick;
            }
            ASSERT_EQ(table.size(), expected.size());
            // Keeps all, none, each entry with a random probability (by a hash of its key), or
            // the entries used at or since a random tick.
            const std::uint64_t salt = rng();
            const std::uint64_t share =
                std::array<std::uint64_t, 4>{0, 1000, rng() % 1000, rng() % 1000}[rng() % 4];
            const bool idle = rng() % 3 == 0;
            const std::uint32_t since = static_cast<std::uint32_t>(rng() % (tick + 1));
            const auto keeps = [&](ExtentKey key, std::uint32_t last_tick) {
                return idle ? last_tick >= since : mix_key(key ^ salt) % 1000 < share;
            };
            std::size_t calls = 0;
            table.rebuild([&](const ExtentStats& s) {
                ++calls;
                return keeps(s.key, s.last_tick);
            });
            EXPECT_EQ(calls, expected.size()) << "the predicate is asked once per entry";
            std::size_t kept = 0;
            for (auto it = expected.begin(); it != expected.end();) {
                const ExtentStats* s = table.find(it->first);
                if (keeps(it->first, it->second)) {
                    ASSERT_NE(s, nullptr) << "case " << table_case << " round " << round;
                    EXPECT_EQ(s->last_tick, it->second);
                    ++kept;
                    ++it;
                } else {
                    ASSERT_EQ(s, nullptr) << "case " << table_case << " round " << round;
                    it = expected.erase(it);
                }
            }
            EXPECT_EQ(table.size(), kept);
            EXPECT_GE(table.capacity(), kept);
            std::size_t visited = 0;
            table.for_each([&](const ExtentStats& s) {
                ++visited;
                EXPECT_TRUE(expected.contains(s.key));
            });
            EXPECT_EQ(visited, kept);
        }
    }
}

}  // namespace
}  // namespace rbdtier
