// OraclePolicy: the upper bound. It reads the trace ahead: at every plan it ranks extents by
// the accesses they will get in [now, now + horizon), each weighted by its nearness
// (1 - delay / horizon: sooner accesses matter more, as in Belady's rule), and places the top
// ones in the fastest tiers, under the same executor, bandwidth and capacity as every other
// policy. Residents get +0.5 so that ties do not bounce. The events must be the ones replayed
// (sorted by time) and outlive the policy.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

#include "engine/placement_policy.h"
#include "engine/policy/ranked_placement.h"

namespace rbdtier {

class OraclePolicy final : public PlacementPolicy {
public:
    // `quotas`: the tenants' quotas, which the oracle plans within (like the executor).
    OraclePolicy(std::span<const IoEvent> future, std::uint64_t extent_bytes,
                 std::uint64_t horizon_us, TenantSlots quotas = {})
        : future_(future),
          extent_bytes_(extent_bytes),
          horizon_us_(horizon_us),
          quotas_(std::move(quotas)) {}
    std::string_view name() const override { return "oracle"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override;
    // Reads the LUN's extents away from home again from the view.
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override;

private:
    void add(const IoEvent& io, int delta);

    std::span<const IoEvent> future_;
    std::uint64_t extent_bytes_;
    std::uint64_t horizon_us_;
    TenantSlots quotas_;
    std::uint64_t origin_us_ = 0;  // time of the first event (keeps sums small)
    std::size_t head_ = 0;         // first event still in the window
    std::size_t tail_ = 0;         // first event after the window
    struct Future {
        std::uint32_t count = 0;
        double time_sum_us = 0;  // of the accesses in the window, relative to the first event
    };
    std::unordered_map<ExtentKey, Future> window_;
    ResidentSet residents_;
    std::unordered_map<LunId, TierId> homes_;
};

}  // namespace rbdtier
