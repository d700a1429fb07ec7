#include "engine/lun_ownership.h"

#include <cerrno>

namespace rbdtier {

namespace {

// may_move_extents() with the lock's answer `held` already asked.
std::optional<OwnershipRefusal> refusal(OwnershipSource& source, bool held) {
    if (!held) return OwnershipRefusal{-EBUSY, "not the holder of the LUN's lock"};
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

}  // namespace

bool may_migrate(OwnershipSource& source) {
    const std::optional<bool> held = source.lock_this_round();
    if (!held) return false;
    if (!source.follow_home_pin()) return false;
    if (!*held) return false;
    // The round's answer was asked just now: the holder's checks go on from it.
    if (auto refused = refusal(source, true)) {
        source.note_problem(refused);
        return false;
    }
    if (!source.take_ownership()) return false;
    source.note_problem(std::nullopt);
    return true;
}

std::optional<OwnershipRefusal> may_move_extents(OwnershipSource& source) {
    return refusal(source, source.holds_lock());
}

}  // namespace rbdtier
