// Extent pins kept in RADOS: the ranges of a LUN's extents an admin keeps in one tier
// (`rbdtier pin LUN RANGE TIER`), stored beside the home pin (ceph/lun_lifecycle.h) so that they
// hold across restarts, reopens and failovers, whichever gateway answered the command.
//
// Where: image metadata kExtentPinsKey = "rbdtier.pins" on the LUN's home image; absent or empty
// means no pin. Format (no version: a new form would be a new key): ranges joined by ',', each
// `FIRST-LAST:POOL` in extents (both ends included, decimal, no sign, no spaces) and the tier's
// pool name (all that follows the first ':'), in ascending order of FIRST, never overlapping; at
// most kMaxExtentPins ranges, at most kMaxExtentPinsBytes of text. Example:
// `0-15:nvme-a,40-40:hdd-b`. Pools are named, not numbered, so a pin means the same pool whatever
// the order of the LUN's tiers; a tier is named as admins name it, by the pool its data lives in
// (TierImages::data_pool: for the home tier, the home image's data pool).
//
// parse_extent_pins() is strict: any departure from the format refuses the whole value (with
// why), never part of it. Who reads it with the LUN's settings (handler/tiered_lun.h) logs a bad
// value once and applies no pin from it; resolve_extent_pins() turns a good one into the LUN's
// pins and reports, rather than applies, a range naming a pool that is not one of the LUN's tiers
// or extents past its end. The admin command changes the list by reading it, editing it
// (edit_extent_pins: a pin replaces what it overlaps) and writing it whole, then notifies the
// LUN's map object (ceph/settings_store.h); two admins changing one LUN's pins at the same
// instant through different gateways may lose one of the two changes (the last write wins).
//
// The text functions are pure and thread-safe; the Image ones are synchronous control-path
// calls (the Image must outlive them), not for the I/O path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ceph/image.h"
#include "ceph/status.h"
#include "engine/admission.h"

namespace rbdtier::ceph {

inline constexpr const char* kExtentPinsKey = "rbdtier.pins";
inline constexpr std::size_t kMaxExtentPins = 1024;
inline constexpr std::size_t kMaxExtentPinsBytes = 64 * 1024;

// Extents [first, last] pinned to the tier in pool `pool`.
struct StoredPin {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::string pool;
    bool operator==(const StoredPin&) const = default;
};

// The value for `pins` (ascending, not overlapping, pools without ',' or spaces, as
// parse_extent_pins accepts them). Empty for no pin.
std::string encode_extent_pins(const std::vector<StoredPin>& pins);
// The pins `value` stores; -EINVAL with why when it is not in the format above.
Result<std::vector<StoredPin>> parse_extent_pins(std::string_view value);
// From the home image's metadata entries as read already (full keys): none when the key is
// absent, the parse's refusal when its value is bad.
Result<std::vector<StoredPin>> extent_pins(const std::map<std::string, std::string>& metadata);

Result<std::vector<StoredPin>> read_extent_pins(const Image& home);
// Writes `pins` (none: removes the key); -E2BIG, nothing written, past the bounds above.
Status write_extent_pins(Image& home, const std::vector<StoredPin>& pins);

// `pins` with extents [first, first+count) pinned to `pool`, or released when `pool` is nullopt
// (what it overlaps is cut; ranges outside stay). count 0 changes nothing.
std::vector<StoredPin> edit_extent_pins(const std::vector<StoredPin>& pins, std::uint64_t first,
                                        std::uint64_t count,
                                        const std::optional<std::string>& pool);

// The stored pins as the LUN's pins: `pools` are the LUN's tier pools by tier id, `extents` its
// extent count. Ranges naming another pool, or past the LUN's end, are left out, each with a
// problem (text for the admin: the range, the pool, why).
struct ResolvedPins {
    std::vector<PinnedRange> ranges;
    std::vector<std::string> problems;
};
ResolvedPins resolve_extent_pins(const std::vector<StoredPin>& pins,
                                 const std::vector<std::string>& pools, std::uint64_t extents);

}  // namespace rbdtier::ceph
