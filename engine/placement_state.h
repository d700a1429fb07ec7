// PlacementState: where the engine believes each extent lives, and what each tenant uses.
//
// Only extents away from their LUN's home tier are stored (absent = home). Updated when the
// executor reports a completed migration; checked against the executor's PlacementView before
// orders are issued. Keeps bytes used per (tenant, tier) so quotas can be checked without a scan.
// tier_of() is asked for every tracked extent in each scoring round, and most extents are at
// home: a filter of one bit per hash bucket (at least 16 per extent away, set on every move away,
// cleared only when rebuilt) answers "at home" without the map for nearly all of them.
// Engine-thread only; read-only (and so safe to share) during parallel scoring.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/extent_key.h"
#include "engine/tenant.h"

namespace rbdtier {

class PlacementState {
public:
    PlacementState(const TenantTable& tenants, std::uint64_t extent_bytes)
        : tenants_(&tenants), extent_bytes_(extent_bytes) {}

    void set_home(LunId lun, TierId home) { homes_[lun] = home; }
    TierId home(LunId lun, TierId fallback) const {
        auto it = homes_.find(lun);
        return it == homes_.end() ? fallback : it->second;
    }
    bool has_home(LunId lun) const { return homes_.count(lun) != 0; }

    TierId tier_of(ExtentKey key, TierId home_tier) const {
        if (!maybe_away(key)) return home_tier;
        auto it = away_.find(key);
        return it == away_.end() ? home_tier : it->second;
    }
    // Records that `key` now lives in `tier`.
    void moved(ExtentKey key, TierId from, TierId to, TierId home_tier);
    // LUN `lun` (home `home_tier`) has `extents` extents, extent e in tier_of(e): replaces what
    // was recorded of it (its placement changed by another hand than the executor's reports).
    template <typename TierOf>
    void replace_lun(LunId lun, TierId home_tier, std::uint64_t extents, TierOf&& tier_of);

    std::uint64_t tenant_used(TenantIndex t, TierId tier) const {
        auto it = usage_.find(usage_key(t, tier));
        return it == usage_.end() ? 0 : it->second;
    }
    const std::unordered_map<ExtentKey, TierId>& away() const { return away_; }

private:
    static std::uint64_t usage_key(TenantIndex t, TierId tier) {
        return (static_cast<std::uint64_t>(t) << 16) | tier;
    }
    static constexpr std::size_t kFilterBitsPerExtent = 16;
    std::size_t filter_bit(ExtentKey key) const {
        return static_cast<std::size_t>(mix_key(key) >> filter_shift_);
    }
    bool maybe_away(ExtentKey key) const {
        if (away_.empty()) return false;
        const std::size_t bit = filter_bit(key);
        return (away_filter_[bit / 64] >> (bit % 64) & 1) != 0;
    }
    void mark_away(ExtentKey key);
    void rebuild_filter();
    const TenantTable* tenants_;
    std::uint64_t extent_bytes_;
    std::unordered_map<LunId, TierId> homes_;
    std::unordered_map<ExtentKey, TierId> away_;
    std::vector<std::uint64_t> away_filter_;  // 2^(64 - filter_shift_) bits
    int filter_shift_ = 64;
    std::size_t filter_erased_ = 0;  // extents back home since the filter was rebuilt
    std::unordered_map<std::uint64_t, std::uint64_t> usage_;  // only non-home tiers are counted
};

inline void PlacementState::moved(ExtentKey key, TierId from, TierId to, TierId home_tier) {
    const TenantIndex t = tenants_->tenant_of(key_lun(key));
    if (from != home_tier) {
        auto& u = usage_[usage_key(t, from)];
        u = u > extent_bytes_ ? u - extent_bytes_ : 0;
    }
    if (to == home_tier) {
        // Their bits stay set (harmless: the map is asked) until they are a good part of them.
        if (away_.erase(key) != 0 &&
            ++filter_erased_ * kFilterBitsPerExtent * 4 > away_filter_.size() * 64)
            rebuild_filter();
    } else {
        away_[key] = to;
        mark_away(key);
        usage_[usage_key(t, to)] += extent_bytes_;
    }
}

inline void PlacementState::mark_away(ExtentKey key) {
    if (away_.size() * kFilterBitsPerExtent > away_filter_.size() * 64) {
        rebuild_filter();  // sized for the map, which holds `key` already
        return;
    }
    const std::size_t bit = filter_bit(key);
    away_filter_[bit / 64] |= std::uint64_t{1} << (bit % 64);
}

inline void PlacementState::rebuild_filter() {
    // The smallest power of two of at least 64 bits and twice kFilterBitsPerExtent per extent
    // away (room to grow before the next rebuild).
    int log2 = 6;
    while ((std::size_t{1} << log2) < away_.size() * kFilterBitsPerExtent * 2) ++log2;
    filter_shift_ = 64 - log2;
    away_filter_.assign((std::size_t{1} << log2) / 64, 0);
    filter_erased_ = 0;
    for (const auto& [key, tier] : away_) {
        const std::size_t bit = filter_bit(key);
        away_filter_[bit / 64] |= std::uint64_t{1} << (bit % 64);
    }
}

template <typename TierOf>
void PlacementState::replace_lun(LunId lun, TierId home_tier, std::uint64_t extents,
                                 TierOf&& tier_of) {
    std::vector<std::pair<ExtentKey, TierId>> was;
    for (const auto& [key, tier] : away_)
        if (key_lun(key) == lun) was.emplace_back(key, tier);
    for (const auto& [key, tier] : was) moved(key, tier, home_tier, home_tier);
    for (ExtentIndex e = 0; e < extents; ++e) {
        const TierId tier = tier_of(e);
        if (tier != home_tier) moved(make_extent_key(lun, e), home_tier, tier, home_tier);
    }
}

}  // namespace rbdtier
