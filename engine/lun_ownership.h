// LunOwnership: whether this gateway may move a tiered LUN's extents now.
//
// Asked by a live LUN's rounds before each round plans (LunRoundsOptions::may_plan: may_plan()),
// again when the round has orders, before it submits them (LunRoundsOptions::may_migrate:
// may_migrate()), and by its migrator right before each commit (may_move_extents()). The
// questions are put to an OwnershipSource, which answers them from the cluster (the live
// gateway's, over the LUN's home image, lock probe and migrator: handler/tiered_lun.cc) or from
// a test's fake; the order they are asked in and what the answers decide are here.
//
// Only a round with something to move asks the cluster for the lock: an idle holder's round plans
// on the lock as last known, and a commit never goes on an old answer.
// may_plan(), in order, the first "no" ending it:
//  1. the lock as this round knows it (lock_this_round(): asked of the cluster only when the
//     source's answer is stale): not held and not asked now (a standby between asks), no;
//  2. the home pin followed (handed to the rounds, asked of the holder and of a standby alike;
//     the live gateway reads it with the LUN's settings, not each round): not known and cannot
//     be read, no (the source notes why);
//  3. not the holder of the LUN's exclusive lock: no (a standby: another gateway owns the LUN);
//  4. held as last known, not asked now: yes (the holder plans; may_migrate() asks if it has
//     something to move);
//  5. asked now: the holder's checks below, their answer the round's.
// may_migrate(): yes when may_plan() asked this round and its checks passed; otherwise the lock
// asked now (holds_lock()): not held, no; held, the holder's checks.
// The holder's checks: may_move_extents() refuses, the holder's answer being the one just asked:
// no, with its refusal noted as the tiering's problem; the tiering's ownership (the placement
// map's fence) cannot be taken: no (noted by the source); else yes, and whatever problem stopped
// the extents before is cleared.
// may_move_extents(): the holder of the lock (asked again), and either it took the lock through
// the lock callout (ALUA: another gateway cannot write without breaking it, which blocklists
// this one and so fences its commits) or no other gateway has the LUN open (without ALUA librbd
// hands the lock to whichever gateway writes, at any moment, without telling this one: a second
// gateway could write an extent's old copy while this one copies it).
// Thread-safety: may_plan() and may_migrate() are called by one round at a time (they keep what
// the round asked); may_move_extents() keeps nothing and may be called from the commits' threads
// meanwhile, as far as the source allows. The source outlives the LunOwnership.
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

// The lock as a round knows it: the answer, and whether it was asked of the cluster just now.
struct RoundLock {
    bool held = false;
    bool asked = false;
};

// What the ownership rule asks (see the top of this file).
class OwnershipSource {
public:
    virtual ~OwnershipSource() = default;
    // Whether this gateway holds the LUN's exclusive lock as this round knows it: asked of the
    // cluster when the last answer is stale, else that answer; an error answers "not held".
    virtual RoundLock lock_this_round() = 0;
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

// The rule over one LUN's source (see the top of this file).
class LunOwnership {
public:
    explicit LunOwnership(OwnershipSource& source) : source_(source) {}

    // Whether the round that starts plans (it is the holder as far as it knows).
    bool may_plan();
    // Whether the round's orders may be submitted (asked only by a round that has some).
    bool may_migrate();
    // Whether this gateway may change the LUN's placement now (nullopt: it may).
    std::optional<OwnershipRefusal> may_move_extents();

private:
    // The holder's checks, the lock just asked and held.
    bool holder_checks();

    OwnershipSource& source_;
    bool checked_this_round_ = false;  // may_plan() asked the lock and the holder's checks passed
};

}  // namespace rbdtier
