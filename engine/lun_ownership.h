// LunOwnership: whether this gateway may move a tiered LUN's extents now.
//
// Asked by a live LUN's rounds before each round's migrations (LunRoundsOptions::may_migrate:
// may_migrate()) and by its migrator right before each commit (may_move_extents()). The
// questions are put to an OwnershipSource, which answers them from the cluster (the live
// gateway's, over the LUN's home image, lock probe and migrator: handler/tiered_lun.cc) or from
// a test's fake; the order they are asked in and what the answers decide are here.
//
// may_migrate(), in order, the first "no" ending it:
//  1. the lock as far as this round asks it (lock_this_round(): a standby asks the cluster only
//     now and then): not asked, no;
//  2. the home pin followed (handed to the rounds, asked of the holder and of a standby alike;
//     the live gateway reads it with the LUN's settings, not each round): not known and cannot
//     be read, no (the source notes why);
//  3. not the holder of the LUN's exclusive lock: no (a standby: another gateway owns the LUN);
//  4. may_move_extents() refuses, the holder's answer being the round's own (asked once a
//     round): no, with its refusal noted as the tiering's problem;
//  5. the tiering's ownership (the placement map's fence) cannot be taken: no (noted by the
//     source);
//  6. yes, and whatever problem stopped the extents before is cleared.
// may_move_extents(): the holder of the lock (asked again), and either it took the lock through
// the lock callout (ALUA: another gateway cannot write without breaking it, which blocklists
// this one and so fences its commits) or no other gateway has the LUN open (without ALUA librbd
// hands the lock to whichever gateway writes, at any moment, without telling this one: a second
// gateway could write an extent's old copy while this one copies it).
// Not thread-safe by itself: the caller serializes calls on one source, as the source requires.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace rbdtier {

// Why extents may not move now: an errno value (negative) and the reason, without the errno's
// own text (whoever shows it adds that).
struct OwnershipRefusal {
    int code = 0;
    std::string reason;
};

// What the ownership rule asks (see the top of this file).
class OwnershipSource {
public:
    virtual ~OwnershipSource() = default;
    // Whether this gateway holds the LUN's exclusive lock, when this round asks the cluster at
    // all (nullopt: not asked); an error answers "not held".
    virtual std::optional<bool> lock_this_round() = 0;
    // Whether this gateway holds the LUN's exclusive lock, asked now; an error answers "not held".
    virtual bool holds_lock() = 0;
    // Whether this gateway took the lock through the lock callout (ALUA).
    virtual bool lock_by_callout() const = 0;
    // How many gateways have the LUN open, or why they cannot be counted.
    virtual std::optional<std::size_t> gateways(OwnershipRefusal& why) = 0;
    // Hands the home pin to the rounds (reading it when it is not known); false (the problem
    // noted) when it is not known and cannot be read.
    virtual bool follow_home_pin() = 0;
    // Takes the tiering's ownership unless taken; false (the problem noted) when it cannot.
    virtual bool take_ownership() = 0;
    // Notes why the extents do not move (nullopt: they may again).
    virtual void note_problem(const std::optional<OwnershipRefusal>& problem) = 0;
};

// Whether the LUN's extents may move in this round (see the top of this file).
bool may_migrate(OwnershipSource& source);

// Whether this gateway may change the LUN's placement now (nullopt: it may).
std::optional<OwnershipRefusal> may_move_extents(OwnershipSource& source);

}  // namespace rbdtier
