// parse_extent_range: the admin's pin/unpin ranges, in extents and in bytes.
#include "handler/admin_range.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

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

TEST(TieredArguments, HeatWindowStaysInsideTheLun) {
    using nlohmann::json;
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    auto w = parse_heat_window(json{{"first", 40u}, {"count", 100u}}, 48, 16384);
    ASSERT_TRUE(w.window) << w.error;
    EXPECT_EQ(w.window->first, 40u);
    EXPECT_EQ(w.window->count, 8u) << "cut at the LUN's end";
    w = parse_heat_window(json::object(), 1u << 20, 16384);
    ASSERT_TRUE(w.window);
    EXPECT_EQ(w.window->count, 16384u) << "at most the cap";
    w = parse_heat_window(json::object(), 0, 16384);
    ASSERT_TRUE(w.window) << "an empty LUN: an empty window";
    EXPECT_EQ(w.window->count, 0u);
    w = parse_heat_window(json{{"first", max}}, 48, 16384);
    EXPECT_FALSE(w.window);
    EXPECT_EQ(w.error, "'first' 18446744073709551615 is past the LUN's end (48 extents)");
    w = parse_heat_window(json{{"count", -1}}, 48, 16384);
    EXPECT_EQ(w.error, "'count' must be a non-negative integer");
    w = parse_heat_window(json{{"first", "3"}}, 48, 16384);
    EXPECT_EQ(w.error, "'first' must be a non-negative integer");
}

TEST(TieredArguments, PinTierAndRangeAreNamedWhenRefused) {
    using nlohmann::json;
    const std::vector<std::string> tiers = {"hdd-a", "nvme-a"};
    auto t = parse_tier_argument(json{{"tier", "nvme-a"}}, tiers, "hdd-a/img0");
    ASSERT_TRUE(t.index);
    EXPECT_EQ(*t.index, 1u);
    t = parse_tier_argument(json{{"tier", "ssd-z"}}, tiers, "hdd-a/img0");
    EXPECT_FALSE(t.index);
    EXPECT_EQ(t.error, "unknown tier 'ssd-z' for LUN 'hdd-a/img0' (its tiers: hdd-a, nvme-a)");
    EXPECT_EQ(parse_tier_argument(json{{"tier", 1}}, tiers, "l").error, "missing argument 'tier'");
    EXPECT_EQ(parse_range_argument(json{{"range", 7}}, kExtent, 16).error,
              "missing argument 'range'");
    const auto r = parse_range_argument(json{{"range", "2-3"}}, kExtent, 16);
    ASSERT_TRUE(r.range) << r.error;
    EXPECT_EQ(r.range->count, 2u);
}

}  // namespace
}  // namespace rbdtier
