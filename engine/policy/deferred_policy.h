// DeferredPolicy: a placement policy made at its first I/O, for a policy that orders nothing
// before it has observed I/O (e.g. the strategy selector of policy "predictive", whose first
// candidate promotes only what was accessed and is not trusted to demote yet).
//
// Until the first observe(), it holds only the factory that makes the policy, the time of the
// last round planned, which LUNs' placement it was told of (placement_changed(), migrated()) and
// when, and the last channel told: an idle LUN costs that, not the policy. plan() orders nothing
// then. The I/O observed from the first on is kept until the next plan(), which makes the policy
// and tells it, in this order, the channel, the placements told up to the last round (read from
// that plan()'s view), the last round (its orders dropped), the placements told after it, the
// kept I/O, and then plans the round: so the policy runs as if it had been there from the start,
// seeing the last idle round only (with the tiers as they are now), which for a policy that
// orders nothing without I/O is what it would have seen of its idle rounds. A caller may observe
// without planning (LunRounds plans nothing while paused or while another gateway owns the LUN):
// the kMaxPendingIo-th I/O kept makes the policy at once, without the last round and the
// placements told (no view to read them from), so what is kept stays bounded (2.5 MiB); a caller
// that plans every round and hands fewer I/Os a round (LunRounds hands at most its event ring's,
// 65,536 by default) never gets there. The room for the kept I/O is reserved at the first
// (kFirstPendingIo) and doubled when full, never past kMaxPendingIo, and given back once the
// policy is made. dropped() before then
// has nothing to drop (no order was given). Introspection is the policy's once made; before, none
// (no outlook, accuracy, alert or selection).
//
// Thread-safety: none of its own, as PlacementPolicy: the caller serializes every call (LunRounds
// under its policy lock, on the rounds' worker); the policy is made by the plan() call that follows
// the first observe(), on that caller's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/placement_policy.h"

namespace rbdtier {

class DeferredPolicy final : public PlacementPolicy {
public:
    using Factory = std::function<std::unique_ptr<PlacementPolicy>()>;
    // The most I/O kept for the policy until a plan() makes it.
    static constexpr std::size_t kMaxPendingIo = std::size_t{1} << 16;
    // The room the first I/O kept reserves (40 KiB: a lightly loaded LUN's round fits, and a
    // LUN that wakes up costs no more than that until its policy is made); the room doubles from
    // there when needed, up to kMaxPendingIo.
    static constexpr std::size_t kFirstPendingIo = std::size_t{1} << 10;

    // `name` is the name the policy made by `make` has.
    DeferredPolicy(std::string name, Factory make);

    std::string_view name() const override { return name_; }
    void observe(const IoEvent& io) override;
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;
    // Told to the policy once made (the I/O kept until then waits for the plan() that makes it).
    void unplanned_round(std::uint64_t now_us) override;
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override;
    void dropped(const MigrationOrder& order, std::uint64_t now_us) override;
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override;
    void channel_changed(const ChannelSpec& channel, std::uint64_t now_us) override;

    std::optional<ExtentOutlook> outlook(LunId lun, ExtentIndex extent,
                                         std::uint64_t now_us) const override;
    std::optional<ForecastAccuracy> accuracy() const override;
    std::vector<PolicyAlert> alerts() const override;
    std::optional<SelectionReport> selection() const override;

    // The policy, once made (null before).
    PlacementPolicy* made() const { return policy_.get(); }
    // Makes the policy now if it is not made yet, and hands it the I/O kept: as if it had been
    // there from the start when nothing was planned or told before (tests and tools that inspect
    // the policy first); a round or placement told before is not told to it.
    PlacementPolicy& make_now();

private:
    // Makes the policy and tells it what it missed (see the top of this file); `view`: null
    // when no round has a view to read the told placements from.
    void make(const PlacementView* view);
    // Notes that `lun`'s placement was told at `now_us`.
    void note_told(LunId lun, std::uint64_t now_us);

    std::string name_;
    Factory make_;                                       // until made
    std::unique_ptr<PlacementPolicy> policy_;            // null until made
    std::optional<std::uint64_t> last_round_us_;         // until made
    std::vector<std::pair<LunId, std::uint64_t>> told_;  // until made: LUN, when last told
    std::optional<std::pair<ChannelSpec, std::uint64_t>> channel_;  // until made
    std::vector<IoEvent> pending_;  // observed since the first I/O, until made
};

}  // namespace rbdtier
