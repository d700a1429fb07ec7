#include "engine/policy/ranked_placement.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

namespace rbdtier {

void ResidentSet::on_migrated(const MigrationOrder& order, TierId home) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    if (order.to == home)
        extents_.erase(key);
    else
        extents_[key] = order.to;
}

void ResidentSet::replace_lun(LunId lun, TierId home, const PlacementView& view) {
    std::erase_if(extents_, [lun](const auto& entry) { return key_lun(entry.first) == lun; });
    const auto keep = [&](ExtentIndex e, TierId tier) {
        if (tier != home) extents_[make_extent_key(lun, e)] = tier;
    };
    // Away from the view's home: the view lists those, without a walk where it can.
    if (home == view.home_tier(lun)) {
        view.away_from_home(lun, keep);
        return;
    }
    const std::uint64_t extents = view.extents(lun);
    for (ExtentIndex e = 0; e < extents; ++e) keep(e, view.tier_of(lun, e));
}

namespace {

struct Ranked {
    ExtentKey key;
    double effective;
    TierId current;
    TierId target;
};

MigrationOrder make_order(const Ranked& r, TierId to, std::string_view reason) {
    MigrationOrder o;
    o.lun = key_lun(r.key);
    o.extent = key_extent(r.key);
    o.from = r.current;
    o.to = to;
    o.net_benefit = r.effective;
    o.forecast_accesses = r.effective;
    o.reason = std::string(reason);
    return o;
}

}  // namespace

std::vector<RankedExtent> rank_extents(const std::vector<ScoredExtent>& candidates,
                                       const ResidentSet& residents, RankingBonus bonus) {
    std::unordered_map<ExtentKey, double> score;
    score.reserve(candidates.size() + residents.extents().size());
    for (const auto& c : candidates) {
        auto [it, inserted] = score.try_emplace(c.key, c.score);
        if (!inserted) it->second = std::max(it->second, c.score);
    }
    for (const auto& [key, tier] : residents.extents()) {
        (void)tier;
        score.try_emplace(key, 0.0);
    }
    std::vector<RankedExtent> ranked;
    ranked.reserve(score.size());
    for (const auto& [key, s] : score)
        ranked.push_back({key, residents.contains(key) ? s * bonus.multiplier + bonus.addend : s});
    std::sort(ranked.begin(), ranked.end(), [](const RankedExtent& a, const RankedExtent& b) {
        return a.effective != b.effective ? a.effective > b.effective : a.key < b.key;
    });
    return ranked;
}

TenantSlots TenantSlots::from(const StorageModel& config) {
    TenantSlots out;
    for (std::size_t i = 0; i < config.tenants.size(); ++i) {
        const auto& t = config.tenants[i];
        for (LunId lun : t.luns) out.tenant_of[lun] = i;
        std::vector<std::uint64_t> slots(config.tiers.size(), kUnlimited);
        for (const auto& [tier, bytes] : t.quota_bytes)
            if (tier < slots.size()) slots[tier] = bytes / config.extent_bytes;
        out.slots.push_back(std::move(slots));
    }
    return out;
}

std::vector<MigrationOrder> orders_for_ranking(const std::vector<RankedExtent>& ranking,
                                               const PlacementView& view, std::string_view reason,
                                               const TenantSlots* quotas) {
    const auto& tiers = view.tiers();
    const std::uint64_t e_bytes = view.extent_bytes();
    constexpr TierId kNone = std::numeric_limits<TierId>::max();
    constexpr std::size_t kNoTenant = std::numeric_limits<std::size_t>::max();
    const std::size_t tenants = quotas ? quotas->slots.size() : 0;
    auto tenant_of = [&](LunId lun) {
        if (!quotas) return kNoTenant;
        auto it = quotas->tenant_of.find(lun);
        return it == quotas->tenant_of.end() ? kNoTenant : it->second;
    };

    struct Entry {
        Ranked r;
        std::size_t tenant;
        TierId home;
    };
    std::vector<Entry> ranked;
    ranked.reserve(ranking.size());
    // Tenants' extents now in each tier (the residents are all in the ranking).
    std::vector<std::vector<std::int64_t>> tenant_used(tenants,
                                                       std::vector<std::int64_t>(tiers.size(), 0));
    for (const auto& x : ranking) {
        const LunId lun = key_lun(x.key);
        Entry e{{x.key, x.effective, view.tier_of(lun, key_extent(x.key)), kNone},
                tenant_of(lun),
                view.home_tier(lun)};
        if (e.tenant != kNoTenant && e.r.current != e.home) ++tenant_used[e.tenant][e.r.current];
        ranked.push_back(e);
    }
    std::vector<TierId> by_speed(tiers.size());
    for (std::size_t i = 0; i < tiers.size(); ++i) by_speed[i] = static_cast<TierId>(i);
    std::stable_sort(by_speed.begin(), by_speed.end(), [&](TierId a, TierId b) {
        return tiers[a].read_latency_us < tiers[b].read_latency_us;
    });
    std::vector<std::uint64_t> slots(tiers.size());
    for (std::size_t t = 0; t < tiers.size(); ++t)
        slots[t] = tiers[t].capacity_bytes == 0 ? std::numeric_limits<std::uint64_t>::max()
                                                : tiers[t].capacity_bytes / e_bytes;
    std::vector<std::vector<std::uint64_t>> tenant_slots =
        quotas ? quotas->slots : std::vector<std::vector<std::uint64_t>>{};

    for (auto& e : ranked) {
        e.r.target = e.home;
        if (!(e.r.effective > 0)) continue;
        for (TierId t : by_speed) {
            if (!(tiers[t].read_latency_us < tiers[e.home].read_latency_us)) break;
            if (slots[t] == 0) continue;
            if (e.tenant != kNoTenant && tenant_slots[e.tenant][t] == 0) continue;
            --slots[t];
            if (e.tenant != kNoTenant && tenant_slots[e.tenant][t] != TenantSlots::kUnlimited)
                --tenant_slots[e.tenant][t];
            e.r.target = t;
            break;
        }
    }

    std::vector<std::int64_t> free(tiers.size());
    for (std::size_t t = 0; t < tiers.size(); ++t)
        free[t] = tiers[t].capacity_bytes == 0
                      ? std::numeric_limits<std::int64_t>::max()
                      : (static_cast<std::int64_t>(tiers[t].capacity_bytes) -
                         static_cast<std::int64_t>(view.used_bytes(static_cast<TierId>(t)))) /
                            static_cast<std::int64_t>(e_bytes);
    std::vector<std::vector<std::int64_t>> tenant_free(tenants,
                                                       std::vector<std::int64_t>(tiers.size()));
    for (std::size_t i = 0; i < tenants; ++i)
        for (std::size_t t = 0; t < tiers.size(); ++t)
            tenant_free[i][t] =
                quotas->slots[i][t] == TenantSlots::kUnlimited
                    ? std::numeric_limits<std::int64_t>::max()
                    : static_cast<std::int64_t>(quotas->slots[i][t]) - tenant_used[i][t];

    std::vector<MigrationOrder> promotions, demotions;
    std::vector<std::uint64_t> waiting(tiers.size(), 0);  // wanted extents without room
    std::vector<std::vector<std::uint64_t>> tenant_waiting(
        tenants, std::vector<std::uint64_t>(tiers.size(), 0));  // ... without quota
    for (const auto& e : ranked) {
        const Ranked& r = e.r;
        if (r.target == r.current || r.target == e.home) continue;  // demotions: below
        if (e.tenant != kNoTenant && tenant_free[e.tenant][r.target] <= 0) {
            ++tenant_waiting[e.tenant][r.target];
        } else if (free[r.target] > 0) {
            --free[r.target];
            if (e.tenant != kNoTenant) --tenant_free[e.tenant][r.target];
            promotions.push_back(make_order(r, r.target, reason));
        } else {
            ++waiting[r.target];
        }
    }
    // Lowest-ranked residents whose place (or quota) is wanted by someone better.
    for (auto it = ranked.rbegin(); it != ranked.rend(); ++it) {
        const Ranked& r = it->r;
        const TierId home = it->home;
        if (r.current == home || r.target == r.current) continue;
        if (it->tenant != kNoTenant && tenant_waiting[it->tenant][r.current] > 0)
            --tenant_waiting[it->tenant][r.current];
        else if (waiting[r.current] > 0)
            --waiting[r.current];
        else
            continue;
        TierId to = home;
        if (r.target != home && free[r.target] > 0 &&
            (it->tenant == kNoTenant || tenant_free[it->tenant][r.target] > 0)) {
            --free[r.target];
            if (it->tenant != kNoTenant) --tenant_free[it->tenant][r.target];
            to = r.target;
        }
        demotions.push_back(make_order(r, to, reason));
    }
    promotions.insert(promotions.end(), std::make_move_iterator(demotions.begin()),
                      std::make_move_iterator(demotions.end()));
    return promotions;
}

std::vector<MigrationOrder> plan_ranked_placement(std::vector<ScoredExtent> candidates,
                                                  const ResidentSet& residents,
                                                  const PlacementView& view, RankingBonus bonus,
                                                  std::string_view reason,
                                                  const TenantSlots* quotas) {
    return orders_for_ranking(rank_extents(candidates, residents, bonus), view, reason, quotas);
}

std::size_t limited_tier_slots(const PlacementView& view) {
    std::size_t slots = 0;
    double slowest_unlimited = -1;
    for (const auto& t : view.tiers())
        if (t.capacity_bytes == 0)
            slowest_unlimited = std::max(slowest_unlimited, t.read_latency_us);
    for (const auto& t : view.tiers()) {
        if (t.capacity_bytes == 0) {
            if (t.read_latency_us < slowest_unlimited) return SIZE_MAX;
            continue;
        }
        slots += t.capacity_bytes / view.extent_bytes();
    }
    return slots;
}

void keep_best(std::vector<ScoredExtent>& candidates, std::size_t keep) {
    if (candidates.size() <= keep) return;
    std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                     candidates.end(), [](const ScoredExtent& a, const ScoredExtent& b) {
                         return a.score != b.score ? a.score > b.score : a.key < b.key;
                     });
    candidates.resize(keep);
}

}  // namespace rbdtier
