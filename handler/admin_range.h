// ExtentRange parsing for the admin verbs pin/unpin: the text an admin types for a part of a LUN.
//
// Two forms, both inclusive of every extent they touch:
//   "A-B"         extents A through B (extent indexes, B >= A); "A" alone is one extent;
//   "XU-YU"       bytes [X, Y) with a unit on both ends (K, M, G, T: binary; e.g. "0M-64M",
//                 "4096K-8M"); a byte range must not be empty;
//   "all"         every extent of the LUN.
// The range must lie within the LUN's `extents`. Refusals say what is wrong ("range '9-3' ends
// before it starts"). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rbdtier {

struct ExtentRange {
    std::uint64_t first = 0;
    std::uint64_t count = 0;
};

struct ExtentRangeParse {
    std::optional<ExtentRange> range;
    std::string error;
};

ExtentRangeParse parse_extent_range(std::string_view text, std::uint64_t extent_bytes,
                                    std::uint64_t extents);

}  // namespace rbdtier
