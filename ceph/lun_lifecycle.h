// LUN lifecycle in RADOS: the home pin that keeps a LUN out of tiering, a consistent export of
// a tiered LUN wherever its extents are, and the removal of its tiering data.
//
// Home pin: image metadata kHomePinKey = "home" on the home image. While it is set, the gateway
// that owns the LUN brings every extent home and moves none out (LunTiering::set_home_pinned).
// Every gateway serving the LUN reads it with the LUN's settings (handler/tiered_lun.h: at open,
// when the LUN's map object gets a settings notify, and when the settings' backstop finds the
// header changed), so it holds across restarts and failovers and costs an idle round no request.
// Set by `rbdtier lun evacuate`, cleared by `rbdtier unpin LUN all` (the gateway that answers
// sends the notify, ceph/settings_store.h) and by remove_lun_tiering(); set or removed by hand
// (`rbd image-meta set POOL/IMAGE rbdtier.pin home`), it is followed within the backstop.
//
// export_lun() reads every extent of the LUN from the image its placement map points at, through
// read-only opens (no lock taken, no watch: gateways serving the LUN go on undisturbed). Against
// migrations running meanwhile it re-reads the map after each batch of extents and reads again
// any extent whose entry changed (pool or generation): a migrator discards a source only after
// committing the move, so an extent whose entry did not change across its read was read from the
// copy the map pointed at the whole time, never from a stale or half-written one. What it does
// not give is one point in time across the LUN while initiators write: each extent is as it was
// when it was read (like `rbd export` of an image in use); with no writes it is the LUN exactly.
//
// remove_lun_tiering() refuses while any client watches the home image (a gateway has the LUN
// open), and, unless forced, while extents live outside the home image (their data would be
// lost); it removes the tier images (the pools of the map's header and `tier_pools`), the map
// object, the home pin and the extent pins (ceph/extent_pins.h), and the LUN's entries in the
// tenant registry (ceph/tenant_registry.h) of each of those pools and of `tenant_pools`. The home
// image stays, a plain RBD image.
//
// Synchronous control-path calls; the Cluster must outlive them. Not for the I/O path.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

inline constexpr const char* kHomePinKey = "rbdtier.pin";
inline constexpr const char* kHomePinValue = "home";

Result<bool> home_pinned(const Image& home);
// The same, from the home image's metadata entries as read already (full keys, kHomePinKey's
// among them when it is set).
bool home_pinned(const std::map<std::string, std::string>& metadata);
Status set_home_pinned(Image& home, bool pinned);

// The home image `pool[/ns]/image` of a LUN.
struct HomeImageRef {
    std::string pool;
    std::string ns;  // "" = default namespace
    std::string image;
    std::string spec() const { return pool + "/" + (ns.empty() ? "" : ns + "/") + image; }
};

// Whether the home image alone holds the LUN's data, as a LUN opened without its tiers needs:
// ok when the LUN has no placement map or its map puts every extent home; -EBUSY when extents
// live in tier images (how many, in which pools, and what to do); the map's error when it
// exists but cannot be read (an unreadable map is not an empty one). `home_io` and `home_image`
// are the LUN's home pool context and image; the map is read through `home_io` (one read).
Status check_home_holds_all(const IoContext& home_io, const Image& home_image,
                            const HomeImageRef& home);

struct LunExport {
    std::uint64_t size_bytes = 0;
    std::uint64_t extents = 0;
    std::uint64_t extents_away = 0;    // read from a tier image rather than the home image
    std::uint64_t reread_extents = 0;  // read again: a migration moved them meanwhile
    bool placement_map = false;        // false: the LUN is not tiered; the home image alone
};

// Writes the LUN's bytes at their offsets to `fd` (a regular file: all-zero extents are left as
// holes; the file is sized to the LUN). `progress(done, total)` is called after each batch.
Result<LunExport> export_lun(
    const Cluster& cluster, const HomeImageRef& home, int fd,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

struct LunRemoval {
    std::uint64_t extents_discarded = 0;  // extents that lived in tier images (forced)
    std::vector<std::string> tier_pools;  // pools whose tier image of the LUN was removed
    std::string map_object;               // "" when there was none
};

Result<LunRemoval> remove_lun_tiering(const Cluster& cluster, const HomeImageRef& home,
                                      const std::vector<std::string>& tier_pools, bool force,
                                      const std::vector<std::string>& tenant_pools = {});

}  // namespace rbdtier::ceph
