#include "engine/lun_ownership.h"

#include <cerrno>

namespace rbdtier {

bool may_migrate(OwnershipSource& source) {
    const std::optional<bool> held = source.lock_this_round();
    if (!held) return false;
    if (!source.follow_home_pin()) return false;
    if (!*held) return false;
    if (auto refused = may_move_extents(source)) {
        source.note_problem(refused);
        return false;
    }
    if (!source.take_ownership()) return false;
    source.note_problem(std::nullopt);
    return true;
}

std::optional<OwnershipRefusal> may_move_extents(OwnershipSource& source) {
    if (!source.holds_lock()) return OwnershipRefusal{-EBUSY, "not the holder of the LUN's lock"};
    if (source.lock_by_callout()) return std::nullopt;
    OwnershipRefusal why;
    const std::optional<std::size_t> gateways = source.gateways(why);
    if (!gateways) return why;
    if (*gateways > 1) {
        return OwnershipRefusal{
            -EBUSY, std::to_string(*gateways) +
                        " gateways serve the LUN without ALUA: extents move only under ALUA "
                        "implicit failover (one lock owner) or with a single gateway"};
    }
    return std::nullopt;
}

}  // namespace rbdtier
