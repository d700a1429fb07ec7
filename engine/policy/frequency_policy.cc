#include <algorithm>
#include <cmath>

#include "engine/policy/baseline_policies.h"

namespace rbdtier {

double FrequencyPolicy::decayed(const Heat& h, std::uint64_t now_us) const {
    if (now_us <= h.at_us) return h.value;
    const double age = static_cast<double>(now_us - h.at_us);
    return h.value * std::exp2(-age / static_cast<double>(params_.half_life_us));
}

void FrequencyPolicy::observe(const IoEvent& io) {
    const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
    const std::uint64_t first = io.offset / extent_bytes_;
    const std::uint64_t last = (io.offset + length - 1) / extent_bytes_;
    for (std::uint64_t e = first; e <= last; ++e) {
        Heat& h = heat_[make_extent_key(io.lun, e)];
        h.value = decayed(h, io.time_us) + 1.0;
        h.at_us = std::max(h.at_us, io.time_us);
    }
}

std::vector<MigrationOrder> FrequencyPolicy::plan(std::uint64_t now_us, const PlacementView& view) {
    if (!ranked_ || now_us >= next_rank_us_) {
        ranked_ = true;
        settled_ = false;
        next_rank_us_ = now_us + params_.interval_us;
        ranking_.clear();
        for (auto it = heat_.begin(); it != heat_.end();) {
            const double d = decayed(it->second, now_us);
            if (d < 1e-3) {
                it = heat_.erase(it);
                continue;
            }
            ranking_.push_back({it->first, d});
            ++it;
        }
        const std::size_t slots = limited_tier_slots(view);
        if (slots != SIZE_MAX) keep_best(ranking_, 2 * slots + residents_.extents().size());
        // Ranked once per interval (residents' bonus as of now); pursued every round after.
        ranked_extents_ = rank_extents(ranking_, residents_, {1.0 + params_.hysteresis, 0.0});
        for (const auto& s : ranked_extents_) {
            const LunId lun = key_lun(s.key);
            if (!homes_.count(lun)) homes_[lun] = view.home_tier(lun);
        }
    }
    if (settled_ || ranked_extents_.empty()) return {};
    auto orders =
        orders_for_ranking(ranked_extents_, view, "frequency: decayed heat rank", &quotas_);
    settled_ = orders.empty();
    return orders;
}

void FrequencyPolicy::placement_changed(LunId lun, std::uint64_t, const PlacementView& view) {
    const TierId home = view.home_tier(lun);
    homes_[lun] = home;
    residents_.replace_lun(lun, home, view);
    settled_ = false;  // the placement may not match the ranking any more
}

void FrequencyPolicy::migrated(const MigrationOrder& order, std::uint64_t) {
    auto it = homes_.find(order.lun);
    residents_.on_migrated(order, it == homes_.end() ? TierId{0xffff} : it->second);
}

}  // namespace rbdtier
