// The extent pins' stored form (ceph/extent_pins.h): what is encoded parses back the same, a
// value off the format is refused whole with why, edits cut what they overlap, and stored pins
// that do not fit the LUN are reported rather than applied.
#include "ceph/extent_pins.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rbdtier::ceph {
namespace {

TEST(ExtentPins, EncodedPinsParseBackTheSame) {
    const std::vector<StoredPin> pins = {{0, 15, "nvme-a"}, {40, 40, "hdd-b"}, {41, 99, "x:y"}};
    const std::string value = encode_extent_pins(pins);
    EXPECT_EQ(value, "0-15:nvme-a,40-40:hdd-b,41-99:x:y");
    auto parsed = parse_extent_pins(value);
    ASSERT_TRUE(parsed) << parsed.status().message();
    EXPECT_EQ(*parsed, pins);
    EXPECT_EQ(encode_extent_pins({}), "");
    auto none = parse_extent_pins("");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST(ExtentPins, AValueOffTheFormatIsRefusedWhole) {
    for (const char* bad : {"0-15",
                            "0-15:",
                            "-15:a",
                            "0-:a",
                            "15-0:a",
                            "0-15:a,",
                            ",0-15:a",
                            "0-15:a,,1-2:b",
                            "1:a",
                            "0 -15:a",
                            "0-15: a",
                            "0-15:a b",
                            "+1-2:a",
                            "01-2:a",
                            "0-15:a\n",
                            "0-1:a,1-2:b",
                            "5-6:a,0-1:b",
                            "x-1:a",
                            "0-18446744073709551615:a",
                            "0-99999999999999999999:a",
                            "0-15:a,0-15:a"}) {
        auto parsed = parse_extent_pins(bad);
        ASSERT_FALSE(parsed) << "'" << bad << "'";
        EXPECT_EQ(parsed.status().code(), -EINVAL) << bad;
        EXPECT_NE(parsed.status().message().find(kExtentPinsKey), std::string::npos) << bad;
    }
    std::string many;
    for (std::size_t i = 0; i <= kMaxExtentPins; ++i)
        many += (many.empty() ? "" : ",") + std::to_string(i) + "-" + std::to_string(i) + ":a";
    EXPECT_FALSE(parse_extent_pins(many)) << "more ranges than kMaxExtentPins";
    EXPECT_FALSE(parse_extent_pins(std::string(kMaxExtentPinsBytes + 1, '1')));
}

TEST(ExtentPins, TheMetadataWithoutTheKeyHoldsNoPin) {
    auto none = extent_pins({{"rbdtier.pin", "home"}});
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    auto some = extent_pins({{kExtentPinsKey, "3-4:ssd"}});
    ASSERT_TRUE(some);
    EXPECT_EQ(*some, (std::vector<StoredPin>{{3, 4, "ssd"}}));
    EXPECT_FALSE(extent_pins({{kExtentPinsKey, "3-4"}}));
}

TEST(ExtentPins, APinReplacesWhatItOverlapsAndAnUnpinCutsIt) {
    std::vector<StoredPin> pins = edit_extent_pins({}, 2, 6, std::string("ssd"));
    EXPECT_EQ(pins, (std::vector<StoredPin>{{2, 7, "ssd"}}));
    pins = edit_extent_pins(pins, 4, 2, std::string("nvme"));
    EXPECT_EQ(pins, (std::vector<StoredPin>{{2, 3, "ssd"}, {4, 5, "nvme"}, {6, 7, "ssd"}}));
    pins = edit_extent_pins(pins, 3, 2, std::nullopt);
    EXPECT_EQ(pins, (std::vector<StoredPin>{{2, 2, "ssd"}, {5, 5, "nvme"}, {6, 7, "ssd"}}));
    // Pins past the range edited stay, whatever the LUN's size.
    pins = edit_extent_pins({{100, 200, "gone"}}, 0, 1, std::string("ssd"));
    EXPECT_EQ(pins, (std::vector<StoredPin>{{0, 0, "ssd"}, {100, 200, "gone"}}));
    EXPECT_EQ(edit_extent_pins(pins, 0, 0, std::nullopt), pins);
    EXPECT_TRUE(edit_extent_pins(pins, 0, 1000, std::nullopt).empty());
}

TEST(ExtentPins, PinsThatDoNotFitTheLunAreReportedNotApplied) {
    const ResolvedPins r = resolve_extent_pins(
        {{0, 1, "nvme"}, {2, 2, "gone"}, {3, 9, "hdd"}, {7, 7, "hdd"}}, {"hdd", "nvme"}, 8);
    EXPECT_EQ(r.ranges, (std::vector<PinnedRange>{{0, 2, 1}, {7, 1, 0}}));
    ASSERT_EQ(r.problems.size(), 2u);
    EXPECT_NE(r.problems[0].find("gone is not one of the LUN's tiers (hdd, nvme)"),
              std::string::npos)
        << r.problems[0];
    EXPECT_NE(r.problems[1].find("3-9:hdd: the LUN has 8 extents"), std::string::npos)
        << r.problems[1];
}

}  // namespace
}  // namespace rbdtier::ceph
