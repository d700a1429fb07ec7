// Fuzz target: a placement map object's omap as read from RADOS (decode_placement_omap, and
// PlacementEntry / MapHeader decode). Input: the first line is the LUN's key; each further line
// is one omap pair, key and value split at the first tab. A map that decodes must re-encode to
// values that decode to the same entries and header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "ceph/placement_map.h"

namespace {

std::string_view next_line(std::string_view& input) {
    const std::size_t newline = input.find('\n');
    const std::string_view line = input.substr(0, newline);
    input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rbdtier::ceph;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string lun_key(next_line(input));
    std::map<std::string, std::string> omap;
    while (!input.empty()) {
        const std::string_view line = next_line(input);
        const std::size_t tab = line.find('\t');
        const std::string key(line.substr(0, tab));
        const std::string value(tab == std::string_view::npos ? "" : line.substr(tab + 1));
        // Each value also on its own, as the migrator and the watch decode single entries.
        if (auto entry = PlacementEntry::decode(value)) {
            if (PlacementEntry::decode(entry->encode()) != entry) std::abort();
        }
        if (auto header = MapHeader::decode(value)) {
            if (MapHeader::decode(header->encode()) != header) std::abort();
        }
        omap.emplace(key, value);
    }
    const PlacementOmapDecode decoded = decode_placement_omap(omap, lun_key);
    if (!decoded.map) {
        if (decoded.error.empty()) std::abort();
        return 0;
    }
    if (decoded.map->header.lun != lun_key || decoded.map->header.format != kPlacementMapFormat)
        std::abort();
    return 0;
}
