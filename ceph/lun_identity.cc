#include "ceph/lun_identity.h"

namespace rbdtier::ceph {

Result<LunIdentity> LunIdentity::of(const IoContext& home_io, const Image& home) {
    auto id = home.id();
    if (!id) return id.status();
    return LunIdentity{home_io.pool_id(), home_io.ns(), std::move(*id)};
}

std::string LunIdentity::key() const {
    return std::to_string(pool_id) + "/" + ns + "/" + image_id;
}

std::string LunIdentity::tier_image_name() const {
    const std::string pool = std::to_string(pool_id);
    return ns.empty() ? "rbdtier." + pool + "." + image_id
                      : "rbdtier." + pool + "." + ns + "." + image_id;
}

std::string legacy_tier_image_name(const std::string& image) {
    return image + ".rbdtier";
}

std::string legacy_map_object_name(const std::string& image) {
    return "rbdtier_map." + image;
}

}  // namespace rbdtier::ceph
