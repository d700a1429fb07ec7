// Ranked placement: turns a ranking of extents into migration orders (shared by the frequency
// and oracle policies).
//
// The highest-ranked extents get the fastest tiers (tiers faster than the extent's home, in
// read-latency order, as many as each tier's capacity holds; unlimited tiers take everything
// left). Extents already placed get a bonus (score * multiplier + addend) so that near ties do
// not bounce. Orders: promotions into free space first (best first), then demotions of the
// lowest-ranked residents of a tier, one per wanted extent that found no room (the room appears
// when the demotion completes). ResidentSet remembers which extents the policy has away from
// home, from the executor's `migrated` callbacks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/extent_key.h"
#include "engine/placement_policy.h"
#include "engine/policy/tier_model.h"

namespace rbdtier {

struct ScoredExtent {
    ExtentKey key = 0;
    double score = 0;
};

class ResidentSet {
public:
    void on_migrated(const MigrationOrder& order, TierId home);
    // LUN `lun`'s residents become the extents `view` places away from `home` (its placement
    // changed by another hand).
    void replace_lun(LunId lun, TierId home, const PlacementView& view);
    const std::unordered_map<ExtentKey, TierId>& extents() const { return extents_; }
    bool contains(ExtentKey key) const { return extents_.count(key) != 0; }

private:
    std::unordered_map<ExtentKey, TierId> extents_;  // key -> tier (never the home tier)
};

struct RankingBonus {
    double multiplier = 1.0;
    double addend = 0.0;
};

// An extent with its effective score (bonus applied), in ranking order.
struct RankedExtent {
    ExtentKey key = 0;
    double effective = 0;
};

// Candidates (duplicates keep the best score) plus residents missing from them (score 0),
// with the residents' bonus applied, best first.
std::vector<RankedExtent> rank_extents(const std::vector<ScoredExtent>& candidates,
                                       const ResidentSet& residents, RankingBonus bonus);

// Tenant quotas in extents, for policies that are given the storage model
// (PlacementView does not tell quotas). LUNs of no tenant have no quota.
struct TenantSlots {
    static constexpr std::uint64_t kUnlimited = UINT64_MAX;
    std::unordered_map<LunId, std::size_t> tenant_of;  // LUN -> index into slots
    std::vector<std::vector<std::uint64_t>> slots;     // [tenant][tier] extents allowed
    static TenantSlots from(const StorageModel& config);
};

// Orders that move placement towards `ranking` (see above), within tenant quotas when given.
// Only extents with a positive effective score are placed.
std::vector<MigrationOrder> orders_for_ranking(const std::vector<RankedExtent>& ranking,
                                               const PlacementView& view, std::string_view reason,
                                               const TenantSlots* quotas = nullptr);

// rank_extents + orders_for_ranking.
std::vector<MigrationOrder> plan_ranked_placement(std::vector<ScoredExtent> candidates,
                                                  const ResidentSet& residents,
                                                  const PlacementView& view, RankingBonus bonus,
                                                  std::string_view reason,
                                                  const TenantSlots* quotas = nullptr);

// Extents the capacity-limited tiers hold in total (a bound for truncating rankings);
// SIZE_MAX when an unlimited tier is faster than another unlimited tier (room for everything).
std::size_t limited_tier_slots(const PlacementView& view);

// Keeps the `keep` best-scored candidates (unordered).
void keep_best(std::vector<ScoredExtent>& candidates, std::size_t keep);

}  // namespace rbdtier
