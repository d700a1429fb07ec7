#include "handler/admin_range.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace rbdtier {
namespace {

struct Bound {
    std::uint64_t value = 0;
    bool bytes = false;  // had a unit
};

std::optional<Bound> parse_bound(std::string_view s) {
    if (s.empty()) return std::nullopt;
    Bound b;
    std::uint64_t multiplier = 1;
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
    if (std::isalpha(static_cast<unsigned char>(s.back()))) {
        switch (unit) {
            case 'K':
                multiplier = 1ull << 10;
                break;
            case 'M':
                multiplier = 1ull << 20;
                break;
            case 'G':
                multiplier = 1ull << 30;
                break;
            case 'T':
                multiplier = 1ull << 40;
                break;
            default:
                return std::nullopt;
        }
        b.bytes = true;
        s.remove_suffix(1);
    }
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    if (v > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
    b.value = v * multiplier;
    return b;
}

ExtentRangeParse refuse(std::string_view text, const std::string& why) {
    return {std::nullopt, "range '" + std::string(text) + "' " + why};
}

}  // namespace

ExtentRangeParse parse_extent_range(std::string_view text, std::uint64_t extent_bytes,
                                    std::uint64_t extents) {
    if (extent_bytes == 0 || extents == 0) return refuse(text, "names no extent: the LUN has none");
    if (text == "all") return {ExtentRange{0, extents}, {}};
    const std::size_t dash = text.find('-');
    const std::string_view lo_text = text.substr(0, dash);
    const std::string_view hi_text = dash == std::string_view::npos ? text : text.substr(dash + 1);
    const auto lo = parse_bound(lo_text);
    const auto hi = parse_bound(hi_text);
    if (!lo || !hi)
        return refuse(text,
                      "is not FIRST-LAST in extents (e.g. 0-15) or in bytes with a unit "
                      "(e.g. 0M-64M)");
    if (lo->bytes != hi->bytes)
        return refuse(text, "mixes extents and bytes: give a unit on both ends or on neither");
    std::uint64_t first = lo->value;
    std::uint64_t last = hi->value;
    if (lo->bytes) {
        if (dash == std::string_view::npos) return refuse(text, "needs an end: e.g. 0M-64M");
        if (hi->value <= lo->value) return refuse(text, "is empty or ends before it starts");
        first = lo->value / extent_bytes;
        last = (hi->value - 1) / extent_bytes;
    } else if (hi->value < lo->value) {
        return refuse(text, "ends before it starts");
    }
    // Bound the last index before counting: last - first + 1 wraps when last is 2^64 - 1.
    if (last >= extents)
        return refuse(text, "goes past the LUN's end (" + std::to_string(extents) + " extents of " +
                                std::to_string(extent_bytes >> 20) + " MiB: 0-" +
                                std::to_string(extents - 1) + ")");
    const ExtentRange r{first, last - first + 1};
    return {r, {}};
}

ExtentRangeParse parse_range_argument(const nlohmann::json& request, std::uint64_t extent_bytes,
                                      std::uint64_t extents) {
    auto it = request.find("range");
    if (it == request.end() || !it->is_string()) return {std::nullopt, "missing argument 'range'"};
    return parse_extent_range(it->get<std::string>(), extent_bytes, extents);
}

HeatWindowParse parse_heat_window(const nlohmann::json& request, std::uint64_t extents,
                                  std::uint64_t max_extents) {
    HeatWindowParse out;
    std::uint64_t first = 0;
    std::uint64_t count = max_extents;
    for (auto [key, value] : {std::pair<const char*, std::uint64_t*>{"first", &first},
                              std::pair<const char*, std::uint64_t*>{"count", &count}}) {
        auto it = request.find(key);
        if (it == request.end()) continue;
        if (!it->is_number_unsigned()) {
            out.error = std::string("'") + key + "' must be a non-negative integer";
            return out;
        }
        *value = it->get<std::uint64_t>();
    }
    if (first > 0 && first >= extents) {
        out.error = "'first' " + std::to_string(first) + " is past the LUN's end (" +
                    std::to_string(extents) + " extents)";
        return out;
    }
    // first < extents here, or first == 0 (an empty LUN: an empty window).
    out.window = HeatWindow{first, std::min({count, max_extents, extents - first})};
    return out;
}

TierParse parse_tier_argument(const nlohmann::json& request, const std::vector<std::string>& tiers,
                              const std::string& lun) {
    TierParse out;
    auto it = request.find("tier");
    if (it == request.end() || !it->is_string()) {
        out.error = "missing argument 'tier'";
        return out;
    }
    out.tier = it->get<std::string>();
    for (std::size_t i = 0; i < tiers.size(); ++i) {
        if (tiers[i] == out.tier) {
            out.index = i;
            return out;
        }
    }
    std::string known;
    for (std::size_t i = 0; i < tiers.size(); ++i) known += (i ? ", " : "") + tiers[i];
    out.error = "unknown tier '" + out.tier + "' for LUN '" + lun + "' (its tiers: " + known + ")";
    return out;
}

}  // namespace rbdtier
