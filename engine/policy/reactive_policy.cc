#include <algorithm>
#include <unordered_set>

#include "engine/policy/baseline_policies.h"

namespace rbdtier {

namespace {

std::vector<TierId> tiers_by_speed(const std::vector<TierSpec>& tiers) {
    std::vector<TierId> order(tiers.size());
    for (std::size_t i = 0; i < tiers.size(); ++i) order[i] = static_cast<TierId>(i);
    std::stable_sort(order.begin(), order.end(), [&](TierId a, TierId b) {
        return tiers[a].read_latency_us < tiers[b].read_latency_us;
    });
    return order;
}

}  // namespace

void ReactivePolicy::set_last_use(ExtentKey key, Resident& r, std::uint64_t seq) {
    auto& lru = lru_[r.tier];
    lru.erase({r.last_use, key});
    r.last_use = seq;
    lru.insert({seq, key});
}

void ReactivePolicy::observe(const IoEvent& io) {
    const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
    const std::uint64_t first = io.offset / extent_bytes_;
    const std::uint64_t last = (io.offset + length - 1) / extent_bytes_;
    for (std::uint64_t e = first; e <= last; ++e) {
        const ExtentKey key = make_extent_key(io.lun, e);
        ++seq_;
        auto it = residents_.find(key);
        if (it != residents_.end()) set_last_use(key, it->second, seq_);
        accessed_.push_back(key);
    }
}

std::vector<MigrationOrder> ReactivePolicy::plan(std::uint64_t, const PlacementView& view) {
    std::vector<MigrationOrder> orders;
    if (accessed_.empty()) return orders;
    const auto& tiers = view.tiers();
    const auto by_speed = tiers_by_speed(tiers);
    const auto e_bytes = static_cast<std::int64_t>(view.extent_bytes());
    std::vector<std::int64_t> free(tiers.size());
    for (std::size_t t = 0; t < tiers.size(); ++t)
        free[t] = tiers[t].capacity_bytes == 0
                      ? INT64_MAX
                      : (static_cast<std::int64_t>(tiers[t].capacity_bytes) -
                         static_cast<std::int64_t>(view.used_bytes(static_cast<TierId>(t)))) /
                            e_bytes;
    std::unordered_set<ExtentKey> seen;
    using LruIt = std::set<std::pair<std::uint64_t, ExtentKey>>::const_iterator;
    LruIt victim, victims_end;
    bool victims_ready = false, have_victims = false;
    constexpr std::size_t kMaxPerRound = 4096;
    for (auto it = accessed_.rbegin(); it != accessed_.rend() && seen.size() < kMaxPerRound; ++it) {
        const ExtentKey key = *it;
        if (!seen.insert(key).second) continue;
        const LunId lun = key_lun(key);
        const TierId home = view.home_tier(lun);
        homes_[lun] = home;
        const TierId current = view.tier_of(lun, key_extent(key));
        const TierId best = by_speed.front();
        if (current == best || !(tiers[best].read_latency_us < tiers[home].read_latency_us))
            continue;
        MigrationOrder o;
        o.lun = lun;
        o.extent = key_extent(key);
        o.from = current;
        bool placed = false;
        for (TierId t : by_speed) {
            if (!(tiers[t].read_latency_us < tiers[current].read_latency_us)) break;
            if (free[t] > 0) {
                --free[t];
                o.to = t;
                o.reason = "reactive: accessed";
                orders.push_back(o);
                placed = true;
                break;
            }
        }
        if (placed) continue;
        // No room anywhere faster: evict the least recently used extent of the fastest tier
        // (the room appears when the eviction completes; the extent is promoted if used again).
        if (!victims_ready) {
            victims_ready = true;
            auto lru_it = lru_.find(best);
            if (lru_it != lru_.end()) {
                victim = lru_it->second.begin();
                victims_end = lru_it->second.end();
                have_victims = true;
            }
        }
        if (!have_victims) continue;
        while (victim != victims_end && victim->second == key) ++victim;
        if (victim == victims_end) continue;
        MigrationOrder d;
        d.lun = key_lun(victim->second);
        d.extent = key_extent(victim->second);
        d.from = best;
        d.to = view.home_tier(d.lun);
        d.reason = "reactive: LRU eviction";
        orders.push_back(d);
        ++victim;
    }
    accessed_.clear();
    return orders;
}

void ReactivePolicy::placement_changed(LunId lun, std::uint64_t, const PlacementView& view) {
    const TierId home = view.home_tier(lun);
    homes_[lun] = home;
    for (auto it = residents_.begin(); it != residents_.end();) {
        const bool stale = key_lun(it->first) == lun &&
                           view.tier_of(lun, key_extent(it->first)) != it->second.tier;
        if (!stale) {
            ++it;
            continue;
        }
        lru_[it->second.tier].erase({it->second.last_use, it->first});
        it = residents_.erase(it);
    }
    // Extents another hand put away from home: not used since as far as this policy knows, so
    // the first to be evicted.
    const std::uint64_t extents = view.extents(lun);
    for (ExtentIndex e = 0; e < extents; ++e) {
        const TierId tier = view.tier_of(lun, e);
        const ExtentKey key = make_extent_key(lun, e);
        if (tier == home || residents_.count(key) != 0) continue;
        lru_[tier].insert({0, key});
        residents_.emplace(key, Resident{tier, 0});
    }
}

void ReactivePolicy::migrated(const MigrationOrder& order, std::uint64_t) {
    const ExtentKey key = make_extent_key(order.lun, order.extent);
    auto it = residents_.find(key);
    if (it != residents_.end()) {
        lru_[it->second.tier].erase({it->second.last_use, key});
        residents_.erase(it);
    }
    auto home = homes_.find(order.lun);
    if (home != homes_.end() && home->second == order.to) return;
    Resident r{order.to, ++seq_};
    lru_[r.tier].insert({r.last_use, key});
    residents_.emplace(key, r);
}

}  // namespace rbdtier
