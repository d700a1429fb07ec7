// InstantExecutor: the executor of policy tests. A PlacementView whose extents are where the
// orders it carried out (or place()) put them, every other extent in the home tier; extents of
// test_events::kE bytes. run_round() plans a round of a policy and carries out each order at
// once: one whose source is where the extent is, whose destination is another tier with room
// for it (home always has; a tier of capacity 0 is unlimited) and, when the LUN's size is said,
// whose extent is within it, moves and is told migrated(); every other is told dropped() and
// counted in `refused`. A slow executor's orders are hold()en instead: migrations_in_flight()
// shows them and used_bytes() counts their destinations until finish_held() carries them out.
// Single-threaded. Header-only, for tests.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "engine/placement_policy.h"
#include "tests/support/io_events.h"

namespace rbdtier::test_support {

class InstantExecutor : public PlacementView {
public:
    // `tiers` indexed by id; every LUN's home is `home` and has `lun_extents` extents (0: unsaid).
    explicit InstantExecutor(std::vector<TierSpec> tiers, TierId home = 1,
                             std::uint64_t lun_extents = 0)
        : tiers_(std::move(tiers)),
          home_(home),
          lun_extents_(lun_extents),
          held_(tiers_.size(), 0) {}

    TierId tier_of(LunId lun, ExtentIndex extent) const override {
        const auto it = away_.find({lun, extent});
        return it == away_.end() ? home_ : it->second;
    }
    TierId home_tier(LunId) const override { return home_; }
    std::uint64_t used_bytes(TierId tier) const override {
        if (tier >= held_.size()) return 0;
        std::uint64_t extents = held_[tier];
        for (const MigrationOrder& o : holding_) extents += o.to == tier && o.to != home_;
        return extents * test_events::kE;
    }
    void migrations_in_flight(
        const std::function<void(const MigrationOrder&)>& each) const override {
        for (const MigrationOrder& o : holding_) each(o);
    }
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return test_events::kE; }
    std::uint64_t extents(LunId) const override { return lun_extents_; }

    // Puts `extent` of `lun` in `tier`, as another hand would.
    void place(LunId lun, ExtentIndex extent, TierId tier) {
        if (const TierId was = tier_of(lun, extent); was != home_) --held_[was];
        if (tier == home_) {
            away_.erase({lun, extent});
        } else {
            ++held_[tier];
            away_[{lun, extent}] = tier;
        }
    }

    // Plans a round of `policy` at `now_us` and carries out its orders (see the top).
    void run_round(PlacementPolicy& policy, std::uint64_t now_us) {
        for (const MigrationOrder& o : policy.plan(now_us, *this)) carry_out(policy, o, now_us);
    }
    // Carries out `o`, one order of `policy` planned by the caller, at `now_us` (see the top).
    void carry_out(PlacementPolicy& policy, const MigrationOrder& o, std::uint64_t now_us) {
        if (!feasible(o)) {
            ++refused;
            policy.dropped(o, now_us);
            return;
        }
        place(o.lun, o.extent, o.to);
        ++migrations;
        policy.migrated(o, now_us);
    }

    // Holds `o`, one order of a policy planned by the caller, as a slow executor would: its
    // extent stays where it is (see the top).
    void hold(const MigrationOrder& o) { holding_.push_back(o); }
    // Carries out the orders held, at `now_us`.
    void finish_held(PlacementPolicy& policy, std::uint64_t now_us) {
        for (const MigrationOrder& o : std::exchange(holding_, {})) carry_out(policy, o, now_us);
    }

    // Shows `io` to `policy`; true when its extent is away from home (in a faster tier).
    bool serve(PlacementPolicy& policy, const IoEvent& io) {
        policy.observe(io);
        return tier_of(io.lun, io.offset / test_events::kE) != home_;
    }

    std::uint64_t migrations = 0;  // orders carried out
    std::uint64_t refused = 0;     // orders dropped

private:
    bool feasible(const MigrationOrder& o) const {
        if (lun_extents_ != 0 && o.extent >= lun_extents_) return false;
        if (o.from == o.to || o.to >= tiers_.size() || tier_of(o.lun, o.extent) != o.from)
            return false;
        const std::uint64_t capacity = tiers_[o.to].capacity_bytes;
        return o.to == home_ || capacity == 0 || used_bytes(o.to) + test_events::kE <= capacity;
    }

    std::vector<TierSpec> tiers_;
    TierId home_;
    std::uint64_t lun_extents_;
    std::vector<std::uint64_t> held_;  // per tier: extents placed away from home there
    std::map<std::pair<LunId, ExtentIndex>, TierId> away_;
    std::vector<MigrationOrder> holding_;  // hold()en, not carried out yet
};

}  // namespace rbdtier::test_support
