// ExtentTable: every entry inserted is found again, with what was written in it, however often
// the table grew in place; rebuild() keeps exactly what its predicate accepts.
#include "engine/extent_table.h"

#include <gtest/gtest.h>

#include <cstdint>

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

}  // namespace
}  // namespace rbdtier
