// Fuzz target: the extent ranges an admin types for pin/unpin (parse_extent_range). The first
// 16 bytes are the LUN's extent size and extent count (little-endian), the rest is the text.
// A range that parses must lie within the LUN and be non-empty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "handler/admin_range.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 16) return 0;
    std::uint64_t extent_bytes = 0;
    std::uint64_t extents = 0;
    std::memcpy(&extent_bytes, data, 8);
    std::memcpy(&extents, data + 8, 8);
    const std::string_view text(reinterpret_cast<const char*>(data + 16), size - 16);
    const rbdtier::ExtentRangeParse parsed =
        rbdtier::parse_extent_range(text, extent_bytes, extents);
    if (!parsed.range) {
        if (parsed.error.empty()) std::abort();
        return 0;
    }
    const rbdtier::ExtentRange& r = *parsed.range;
    if (r.count == 0 || r.first >= extents || r.count > extents - r.first) std::abort();
    return 0;
}
