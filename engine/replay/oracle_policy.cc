#include "engine/replay/oracle_policy.h"

#include <algorithm>

#include "engine/extent_key.h"

namespace rbdtier {

void OraclePolicy::add(const IoEvent& io, int delta) {
    const std::uint64_t length = std::max<std::uint32_t>(io.length, 1);
    const std::uint64_t first = io.offset / extent_bytes_;
    const std::uint64_t last = (io.offset + length - 1) / extent_bytes_;
    for (std::uint64_t e = first; e <= last; ++e) {
        const ExtentKey key = make_extent_key(io.lun, e);
        const double t = static_cast<double>(io.time_us - origin_us_);
        if (delta > 0) {
            Future& f = window_[key];
            ++f.count;
            f.time_sum_us += t;
        } else {
            auto it = window_.find(key);
            if (it == window_.end()) continue;
            it->second.time_sum_us -= t;
            if (--it->second.count == 0) window_.erase(it);
        }
    }
}

std::vector<MigrationOrder> OraclePolicy::plan(std::uint64_t now_us, const PlacementView& view) {
    if (!future_.empty()) origin_us_ = future_.front().time_us;
    while (tail_ < future_.size() && future_[tail_].time_us < now_us + horizon_us_)
        add(future_[tail_++], +1);
    while (head_ < tail_ && future_[head_].time_us < now_us) add(future_[head_++], -1);
    std::vector<ScoredExtent> candidates;
    candidates.reserve(window_.size());
    const double now = static_cast<double>(now_us - std::min(now_us, origin_us_));
    const double horizon = static_cast<double>(std::max<std::uint64_t>(horizon_us_, 1));
    for (const auto& [key, f] : window_) {
        // Σ (1 - (t_i - now) / H) over the accesses in the window.
        const double score = f.count - (f.time_sum_us - f.count * now) / horizon;
        candidates.push_back({key, std::max(score, 1e-9)});
        const LunId lun = key_lun(key);
        if (!homes_.count(lun)) homes_[lun] = view.home_tier(lun);
    }
    const std::size_t slots = limited_tier_slots(view);
    if (slots != SIZE_MAX) keep_best(candidates, 2 * slots + residents_.extents().size());
    if (candidates.empty() && residents_.extents().empty()) return {};
    return plan_ranked_placement(std::move(candidates), residents_, view, {1.0, 0.5},
                                 "oracle: accesses within the horizon", &quotas_);
}

void OraclePolicy::placement_changed(LunId lun, std::uint64_t, const PlacementView& view) {
    const TierId home = view.home_tier(lun);
    homes_[lun] = home;
    residents_.replace_lun(lun, home, view);
}

void OraclePolicy::migrated(const MigrationOrder& order, std::uint64_t) {
    auto it = homes_.find(order.lun);
    residents_.on_migrated(order, it == homes_.end() ? TierId{0xffff} : it->second);
}

}  // namespace rbdtier
