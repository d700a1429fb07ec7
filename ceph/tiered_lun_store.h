// TieredLunStore: what holds a tiered LUN's data — its tier images and its placement map —
// opened together, refusing every state in which using them could lose or mix data.
//
// open_tiered_lun_store() on first use (no map, no tier image of this LUN) creates the map with
// its header, then the tier images, tagged. Later it refuses, with the reason in the Status:
//   - a LUN with format-1 tiering data (a map named after the image): never read, never deleted;
//   - tier images of the LUN without a map (`rbdtier lun repair` rebuilds it);
//   - a map without a valid header, of another LUN, or with a bad entry;
//   - an extent mapped (or a migration intended) to a pool that `tier_pools` does not list, or
//     to a tier image that is missing;
//   - a tier image tagged for another LUN.
// The home image's pool and its data pool (TierImages) are the home tier's: listed in
// `tier_pools`, neither gets a tier image (a tier image already in the data pool, made before
// the data pool was told apart, stays a tier while the map has data in it).
// A pool new to the LUN is added to the header before its tier image is made. Every tier image
// is checked (and made) at open, but only those the map puts an extent or an intent in stay
// open: the others are opened on first need (TierImages), and checked from their headers, read
// through `header_reader` when given (TierImages::open), which also makes new ones ready and
// tells, for a LUN without a map, whether tier images are there; `cluster` does what that
// client could not. The Cluster (and `home`, if given) must outlive the store. Control path;
// not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/placement_map.h"
#include "ceph/status.h"
#include "ceph/tier_images.h"

namespace rbdtier::ceph {

struct TieredLunStore {
    TierImages images;
    PlacementMap map;
};

Result<TieredLunStore> open_tiered_lun_store(const Cluster& cluster, const std::string& home_pool,
                                             const std::string& ns, const std::string& image,
                                             const std::vector<std::string>& tier_pools,
                                             Image* home = nullptr,
                                             const Cluster* header_reader = nullptr);

// The identity of the home image `home_pool[/ns]/image`.
Result<LunIdentity> identity_of(const Cluster& cluster, const std::string& home_pool,
                                const std::string& ns, const std::string& image);

// The LUN's placement map as it is in RADOS now (read-only use: no fence). Opens the home image
// to learn its identity.
Result<PlacementMap> read_placement_map(const Cluster& cluster, const std::string& home_pool,
                                        const std::string& ns, const std::string& image);

// What repair_placement_map() found: per extent away from home, the pool holding it; the
// extents whose data is in more than one image, differently (which copy is current cannot be
// told); and the pools holding a tier image of the LUN.
struct MapRepair {
    std::map<std::uint64_t, std::string> placed;
    std::map<std::uint64_t, std::vector<std::string>> ambiguous;
    std::vector<std::string> tier_pools;
    bool written = false;
};

// Rebuilds a LUN's missing placement map from what its tier images (in `candidate_pools`, the
// home pool excepted) hold, allocation by allocation (`rbd diff`): an extent with data in one
// image lives there; in several images with the same bytes, in the first tier image (the other
// copies are strays for scrub); in several with different bytes, it is ambiguous. The map is
// written (with `write`, and only if no extent is ambiguous) with each entry's crc32c; nothing
// is ever deleted. -EEXIST if the LUN has a map. No gateway may serve the LUN meanwhile (none
// can: a tiered LUN without a map is refused at open).
Result<MapRepair> repair_placement_map(const Cluster& cluster, const std::string& home_pool,
                                       const std::string& ns, const std::string& image,
                                       const std::vector<std::string>& candidate_pools, bool write);

// Removes the LUN's tier images (in `tier_pools` and in the pools its map's header lists) and
// its map; the home image stays. Explicit admin action (and tests) only.
Status remove_tiered_lun_store(const Cluster& cluster, const std::string& home_pool,
                               const std::string& ns, const std::string& image,
                               const std::vector<std::string>& tier_pools);

}  // namespace rbdtier::ceph
