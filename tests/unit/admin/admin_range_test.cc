// parse_extent_range: the admin's pin/unpin ranges, in extents and in bytes.
#include "handler/admin_range.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace rbdtier {
namespace {

constexpr std::uint64_t kExtent = 4ull << 20;

TEST(ExtentRangeParse, ExtentIndexesAreInclusive) {
    const auto p = parse_extent_range("2-5", kExtent, 16);
    ASSERT_TRUE(p.range) << p.error;
    EXPECT_EQ(p.range->first, 2u);
    EXPECT_EQ(p.range->count, 4u);
}

TEST(ExtentRangeParse, ByteRangeCoversEveryExtentItTouches) {
    const auto p = parse_extent_range("6M-9M", kExtent, 16);
    ASSERT_TRUE(p.range) << p.error;
    EXPECT_EQ(p.range->first, 1u);
    EXPECT_EQ(p.range->count, 2u);
}

TEST(ExtentRangeParse, AllIsTheWholeLun) {
    const auto p = parse_extent_range("all", kExtent, 16);
    ASSERT_TRUE(p.range);
    EXPECT_EQ(p.range->count, 16u);
}

TEST(ExtentRangeParse, RefusesRangesPastTheEnd) {
    EXPECT_FALSE(parse_extent_range("15-16", kExtent, 16).range);
    EXPECT_FALSE(parse_extent_range("16", kExtent, 16).range);
    EXPECT_FALSE(parse_extent_range("0M-65M", kExtent, 16).range);
}

// Found by fuzz_extent_range: "0-18446744073709551615" made the count wrap to 0 and was
// accepted as an empty range on a LUN with more than 2^63 extents.
TEST(ExtentRangeParse, LastIndexAtTheLimitDoesNotWrapToAnEmptyRange) {
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    // Even a LUN of 2^64 - 1 extents has no extent 2^64 - 1: refused, not a range of 0.
    const auto p = parse_extent_range("0-18446744073709551615", kExtent, max);
    EXPECT_FALSE(p.range) << "count " << p.range->count;
    EXPECT_NE(p.error.find("goes past the LUN's end"), std::string::npos) << p.error;
    EXPECT_FALSE(parse_extent_range("0-18446744073709551615", kExtent, 16).range);
}

TEST(ExtentRangeParse, RefusesMalformedText) {
    for (const char* bad : {"", "-", "3-", "-3", "a-b", "1M-2", "9-3", "4M-4M", "1X-2X", "1M"}) {
        const auto p = parse_extent_range(bad, kExtent, 16);
        EXPECT_FALSE(p.range) << bad;
        EXPECT_FALSE(p.error.empty()) << bad;
    }
}

}  // namespace
}  // namespace rbdtier
