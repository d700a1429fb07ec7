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

bool LunOwnership::may_plan() {
    checked_this_round_ = false;
    const RoundLock lock = source_.lock_this_round();
    if (!lock.held && !lock.asked) return false;
    if (!source_.follow_home_pin()) return false;
    if (!lock.held) return false;
    if (!lock.asked) return true;
    checked_this_round_ = holder_checks();
    return checked_this_round_;
}

bool LunOwnership::may_migrate() {
    if (checked_this_round_) return true;
    if (!source_.holds_lock()) return false;
    checked_this_round_ = holder_checks();
    return checked_this_round_;
}

std::optional<OwnershipRefusal> LunOwnership::may_move_extents() {
    return refusal(source_, source_.holds_lock());
}

bool LunOwnership::holder_checks() {
    if (auto refused = refusal(source_, true)) {
        source_.note_problem(refused);
        return false;
    }
    if (!source_.take_ownership()) return false;
    source_.note_problem(std::nullopt);
    return true;
}

}  // namespace rbdtier
