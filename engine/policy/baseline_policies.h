// Baseline placement policies for the replay (and for comparison with the predictive engine).
//
//   NonePolicy      never moves anything: every extent stays in its home tier.
//   ReactivePolicy  promotes an extent on access (in the next round) into the fastest tier with
//                   room, evicting the least recently used extent of that tier to home when full
//                   (like Ceph cache tiering).
//   FrequencyPolicy every `interval` ranks extents by exponentially decayed access count
//                   (half-life `half_life`) and places the top ones in the fast tiers, fastest
//                   first (FAST VP / Easy Tier style); keeps pursuing that ranking between
//                   rankings as bandwidth allows.
// All are single-threaded, as PlacementPolicy requires.
#pragma once

#include <cstdint>
#include <set>
#include <unordered_map>
#include <vector>

#include "engine/extent_key.h"
#include "engine/placement_policy.h"
#include "engine/policy/ranked_placement.h"

namespace rbdtier {

class NonePolicy final : public PlacementPolicy {
public:
    std::string_view name() const override { return "none"; }
    void observe(const IoEvent&) override {}
    std::vector<MigrationOrder> plan(std::uint64_t, const PlacementView&) override { return {}; }
};

class ReactivePolicy final : public PlacementPolicy {
public:
    explicit ReactivePolicy(std::uint64_t extent_bytes) : extent_bytes_(extent_bytes) {}
    std::string_view name() const override { return "reactive"; }
    void observe(const IoEvent& io) override;
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override;
    // Reads the LUN's extents away from home again from the view.
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override;

private:
    struct Resident {
        TierId tier = 0;
        std::uint64_t last_use = 0;
    };
    void set_last_use(ExtentKey key, Resident& r, std::uint64_t seq);

    std::uint64_t extent_bytes_;
    std::uint64_t seq_ = 0;
    std::vector<ExtentKey> accessed_;  // since the last plan, in access order
    std::unordered_map<ExtentKey, Resident> residents_;
    std::unordered_map<TierId, std::set<std::pair<std::uint64_t, ExtentKey>>> lru_;  // per tier
    std::unordered_map<LunId, TierId> homes_;
};

struct FrequencyParams {
    std::uint64_t interval_us = 60'000'000;
    std::uint64_t half_life_us = 300'000'000;
    double hysteresis = 0.2;  // residents' heat counts (1 + hysteresis) times
};

class FrequencyPolicy final : public PlacementPolicy {
public:
    FrequencyPolicy(std::uint64_t extent_bytes, FrequencyParams params = {},
                    TenantSlots quotas = {})
        : extent_bytes_(extent_bytes), params_(params), quotas_(std::move(quotas)) {}
    std::string_view name() const override { return "frequency"; }
    void observe(const IoEvent& io) override;
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override;
    void migrated(const MigrationOrder& order, std::uint64_t now_us) override;
    // Reads the LUN's extents away from home again from the view.
    void placement_changed(LunId lun, std::uint64_t now_us, const PlacementView& view) override;

private:
    struct Heat {
        double value = 0;
        std::uint64_t at_us = 0;
    };
    double decayed(const Heat& h, std::uint64_t now_us) const;

    std::uint64_t extent_bytes_;
    FrequencyParams params_;
    TenantSlots quotas_;
    std::unordered_map<ExtentKey, Heat> heat_;
    std::vector<ScoredExtent> ranking_;
    std::vector<RankedExtent> ranked_extents_;
    bool ranked_ = false;
    bool settled_ = false;  // placement matches the ranking: idle until the next ranking
    std::uint64_t next_rank_us_ = 0;
    ResidentSet residents_;
    std::unordered_map<LunId, TierId> homes_;
};

}  // namespace rbdtier
