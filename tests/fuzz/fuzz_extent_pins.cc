// Fuzz target: the extent pins a gateway reads from RADOS (image metadata rbdtier.pins,
// ceph/extent_pins.h). Input: the value, any bytes. A value that parses must be ascending and
// apart, within the bounds, and encode back to itself byte for byte (one spelling per list); an
// edit of it must parse again; resolving it against a LUN applies only ranges inside the LUN
// and its tiers and reports every other one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ceph/extent_pins.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rbdtier::ceph;
    const std::string_view value(reinterpret_cast<const char*>(data), size);
    auto pins = parse_extent_pins(value);
    if (!pins) {
        if (pins.status().message().empty()) std::abort();
        return 0;
    }
    if (pins->size() > kMaxExtentPins) std::abort();
    for (std::size_t i = 0; i < pins->size(); ++i) {
        const StoredPin& p = (*pins)[i];
        if (p.last < p.first || p.pool.empty()) std::abort();
        if (i > 0 && p.first <= (*pins)[i - 1].last) std::abort();
    }
    if (encode_extent_pins(*pins) != value) std::abort();
    // An edit at a spot the input chooses keeps the list in the format.
    const std::uint64_t first = size;
    const std::optional<std::string> pool =
        size % 2 == 0 ? std::optional<std::string>("nvme-a") : std::nullopt;
    const std::vector<StoredPin> edited = edit_extent_pins(*pins, first, 1 + size % 7, pool);
    auto again = parse_extent_pins(encode_extent_pins(edited));
    if (edited.size() <= kMaxExtentPins && (!again || *again != edited)) std::abort();
    const std::vector<std::string> pools = {"hdd-a", "nvme-a"};
    const std::uint64_t extents = 64;
    const ResolvedPins resolved = resolve_extent_pins(*pins, pools, extents);
    if (resolved.ranges.size() + resolved.problems.size() != pins->size()) std::abort();
    for (const rbdtier::PinnedRange& r : resolved.ranges)
        if (r.count == 0 || r.first + r.count > extents || r.tier >= pools.size()) std::abort();
    return 0;
}
