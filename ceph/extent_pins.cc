#include "ceph/extent_pins.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <limits>

namespace rbdtier::ceph {
namespace {

Status bad(const std::string& why) {
    return Status::error(EINVAL, std::string(kExtentPinsKey) + ": " + why);
}

// A pool name as the format allows it: not empty, no ',' and nothing but printable, non-space
// characters.
bool valid_pool(std::string_view pool) {
    return !pool.empty() && std::all_of(pool.begin(), pool.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return c != ',' && std::isgraph(u) != 0;
    });
}

// A decimal extent index: digits only, no leading zero (one spelling per number), no more than
// fit.
std::optional<std::uint64_t> extent_number(std::string_view text) {
    if (text.empty() || (text.size() > 1 && text.front() == '0') ||
        !std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
        return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

Result<StoredPin> parse_range(std::string_view item) {
    const std::string shown(item);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return bad("'" + shown + "' is not FIRST-LAST:POOL");
    const std::string_view range = item.substr(0, colon);
    const std::string_view pool = item.substr(colon + 1);
    const auto dash = range.find('-');
    if (dash == std::string_view::npos) return bad("'" + shown + "' is not FIRST-LAST:POOL");
    const auto first = extent_number(range.substr(0, dash));
    const auto last = extent_number(range.substr(dash + 1));
    if (!first || !last) return bad("'" + shown + "': extents are decimal numbers");
    if (*last < *first) return bad("'" + shown + "': LAST is before FIRST");
    if (*last == std::numeric_limits<std::uint64_t>::max())
        return bad("'" + shown + "': no LUN has that many extents");
    if (!valid_pool(pool))
        return bad("'" + shown +
                   "': the pool name is empty or holds a space or a control character");
    return StoredPin{*first, *last, std::string(pool)};
}

}  // namespace

std::string encode_extent_pins(const std::vector<StoredPin>& pins) {
    std::string out;
    for (const StoredPin& p : pins) {
        if (!out.empty()) out += ',';
        out += std::to_string(p.first) + '-' + std::to_string(p.last) + ':' + p.pool;
    }
    return out;
}

Result<std::vector<StoredPin>> parse_extent_pins(std::string_view value) {
    if (value.size() > kMaxExtentPinsBytes)
        return bad(std::to_string(value.size()) + " bytes, more than the " +
                   std::to_string(kMaxExtentPinsBytes) + " allowed");
    std::vector<StoredPin> out;
    if (value.empty()) return out;
    std::size_t at = 0;
    for (;;) {
        const auto comma = value.find(',', at);
        const std::string_view item =
            value.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
        if (out.size() == kMaxExtentPins)
            return bad("more than " + std::to_string(kMaxExtentPins) + " ranges");
        auto pin = parse_range(item);
        if (!pin) return pin.status();
        if (!out.empty() && pin->first <= out.back().last)
            return bad("'" + std::string(item) +
                       "' overlaps or precedes the range before it (ranges go in ascending "
                       "order, apart)");
        out.push_back(std::move(*pin));
        if (comma == std::string_view::npos) return out;
        at = comma + 1;
    }
}

Result<std::vector<StoredPin>> extent_pins(const std::map<std::string, std::string>& metadata) {
    const auto it = metadata.find(kExtentPinsKey);
    if (it == metadata.end()) return std::vector<StoredPin>{};
    return parse_extent_pins(it->second);
}

Result<std::vector<StoredPin>> read_extent_pins(const Image& home) {
    auto value = home.metadata_get(kExtentPinsKey);
    if (!value) return value.status();
    if (!value->has_value()) return std::vector<StoredPin>{};
    return parse_extent_pins(**value);
}

Status write_extent_pins(Image& home, const std::vector<StoredPin>& pins) {
    if (pins.empty()) return home.metadata_remove(kExtentPinsKey);
    if (pins.size() > kMaxExtentPins)
        return Status::error(E2BIG, std::to_string(pins.size()) + " pinned ranges, more than the " +
                                        std::to_string(kMaxExtentPins) + " a LUN may keep");
    const std::string value = encode_extent_pins(pins);
    if (value.size() > kMaxExtentPinsBytes)
        return Status::error(E2BIG, "the pinned ranges take " + std::to_string(value.size()) +
                                        " bytes, more than the " +
                                        std::to_string(kMaxExtentPinsBytes) + " a LUN may keep");
    return home.metadata_set(kExtentPinsKey, value);
}

std::vector<StoredPin> edit_extent_pins(const std::vector<StoredPin>& pins, std::uint64_t first,
                                        std::uint64_t count,
                                        const std::optional<std::string>& pool) {
    if (count == 0) return pins;
    // The list as a PinTable over every pool it names: the table cuts what a change overlaps.
    std::vector<std::string> pools;
    auto id_of = [&pools](const std::string& name) {
        auto it = std::find(pools.begin(), pools.end(), name);
        if (it == pools.end()) it = pools.insert(pools.end(), name);
        return static_cast<TierId>(it - pools.begin());
    };
    const std::uint64_t end =
        count > std::numeric_limits<std::uint64_t>::max() - first ? 0 : first + count;
    std::uint64_t extents = end;
    for (const StoredPin& p : pins) {
        (void)id_of(p.pool);
        extents = std::max(extents, p.last + 1);
    }
    if (pool) (void)id_of(*pool);
    PinTable table(extents, pools.size());
    for (const StoredPin& p : pins) (void)table.pin(p.first, p.last - p.first + 1, id_of(p.pool));
    if (pool)
        (void)table.pin(first, count, id_of(*pool));
    else
        table.unpin(first, count);
    std::vector<StoredPin> out;
    for (const PinnedRange& r : table.ranges())
        out.push_back(StoredPin{r.first, r.first + r.count - 1, pools[r.tier]});
    return out;
}

ResolvedPins resolve_extent_pins(const std::vector<StoredPin>& pins,
                                 const std::vector<std::string>& pools, std::uint64_t extents) {
    ResolvedPins out;
    for (const StoredPin& p : pins) {
        const std::string range = std::string(kExtentPinsKey) + " " + std::to_string(p.first) +
                                  "-" + std::to_string(p.last) + ":" + p.pool;
        const auto tier = std::find(pools.begin(), pools.end(), p.pool);
        if (tier == pools.end()) {
            std::string known;
            for (const std::string& name : pools) known += (known.empty() ? "" : ", ") + name;
            out.problems.push_back(range + ": " + p.pool + " is not one of the LUN's tiers (" +
                                   known + "); not applied");
            continue;
        }
        if (p.last >= extents) {
            out.problems.push_back(range + ": the LUN has " + std::to_string(extents) +
                                   " extents; not applied");
            continue;
        }
        out.ranges.push_back(
            PinnedRange{p.first, p.last - p.first + 1, static_cast<TierId>(tier - pools.begin())});
    }
    return out;
}

}  // namespace rbdtier::ceph
