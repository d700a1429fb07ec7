// LunIdentity: what names a tiered LUN's data in RADOS, whatever its home image is called.
//
// A LUN is its home image's pool id, RBD namespace and RBD image id: never its name, since two
// pools (or namespaces) can hold images of the same name and `rbd rename` must not orphan
// data. The names derived from it are the on-disk format 2 (README, "Tiering"):
//   tier image (each tier pool, default namespace)   rbdtier.<pool id>.<image id>
//                                     namespaced home: rbdtier.<pool id>.<ns>.<image id>
//   its tag, image metadata kTierImageTag            key(): "<pool id>/<ns>/<image id>"
//   placement map object (home pool and namespace)   rbdtier_map.<image id>
// A tier image is used only when its tag is this LUN's key. Value type, no Ceph state; of()
// reads the identity of an open home image.
#pragma once

#include <cstdint>
#include <string>

#include "ceph/image.h"
#include "ceph/io_context.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

// The image metadata key that tags a tier image with the LUN it belongs to.
inline constexpr const char* kTierImageTag = "rbdtier.lun";

struct LunIdentity {
    std::int64_t pool_id = -1;
    std::string ns;        // the home image's RBD namespace; "" = default
    std::string image_id;  // rbd_get_id of the home image

    static Result<LunIdentity> of(const IoContext& home_io, const Image& home);

    std::string key() const;
    std::string tier_image_name() const;
    std::string map_object_name() const { return "rbdtier_map." + image_id; }

    bool operator==(const LunIdentity&) const = default;
};

// Names of the format-1 layout (before LUN identities): found only to refuse them, never used.
std::string legacy_tier_image_name(const std::string& image);  // <image>.rbdtier
std::string legacy_map_object_name(const std::string& image);  // rbdtier_map.<image>

}  // namespace rbdtier::ceph
