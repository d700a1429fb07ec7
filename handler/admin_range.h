// ExtentRange parsing for the admin verbs pin/unpin: the text an admin types for a part of a LUN.
//
// Two forms, both inclusive of every extent they touch:
//   "A-B"         extents A through B (extent indexes, B >= A); "A" alone is one extent;
//   "XU-YU"       bytes [X, Y) with a unit on both ends (K, M, G, T: binary; e.g. "0M-64M",
//                 "4096K-8M"); a byte range must not be empty;
//   "all"         every extent of the LUN.
// The range must lie within the LUN's `extents`. Refusals say what is wrong ("range '9-3' ends
// before it starts"). Pure.
//
// The other arguments of the tiered-LUN verbs, checked against the LUN's shape (its extent
// count, its tiers) before anything of the LUN is touched, each refusal naming the argument:
//   heat's window: "first" (default 0) and "count" (default and cap: max_extents), non-negative
//     integers; "first" past the LUN's end is refused; the window never runs past the end;
//   pin's "tier": one of the LUN's tier pools (the refusal lists them);
//   pin/unpin's "range": a string, as parse_extent_range.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A request's "range" (a missing or non-string one is refused) as parse_extent_range reads it.
ExtentRangeParse parse_range_argument(const nlohmann::json& request, std::uint64_t extent_bytes,
                                      std::uint64_t extents);

struct HeatWindow {
    std::uint64_t first = 0;
    std::uint64_t count = 0;  // first + count <= the LUN's extents
};
struct HeatWindowParse {
    std::optional<HeatWindow> window;
    std::string error;
};
HeatWindowParse parse_heat_window(const nlohmann::json& request, std::uint64_t extents,
                                  std::uint64_t max_extents);

struct TierParse {
    std::optional<std::size_t> index;  // into `tiers`
    std::string tier;
    std::string error;
};
// The request's "tier" among `tiers` (the LUN's pools, home first); `lun` names it in errors.
TierParse parse_tier_argument(const nlohmann::json& request, const std::vector<std::string>& tiers,
                              const std::string& lun);

}  // namespace rbdtier
