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
        if (delta > 0) {
            ++window_[key];
        } else {
            auto it = window_.find(key);
            if (it != window_.end() && --it->second == 0) window_.erase(it);
        }
    }
}

std::vector<MigrationOrder> OraclePolicy::plan(std::uint64_t now_us, const PlacementView& view) {
    while (tail_ < future_.size() && future_[tail_].time_us < now_us + horizon_us_)
        add(future_[tail_++], +1);
    while (head_ < tail_ && future_[head_].time_us < now_us) add(future_[head_++], -1);
    std::vector<ScoredExtent> candidates;
    candidates.reserve(window_.size());
    for (const auto& [key, count] : window_) {
        candidates.push_back({key, static_cast<double>(count)});
        const LunId lun = key_lun(key);
        if (!homes_.count(lun)) homes_[lun] = view.home_tier(lun);
    }
    const std::size_t slots = limited_tier_slots(view);
    if (slots != SIZE_MAX) keep_best(candidates, 2 * slots + residents_.extents().size());
    if (candidates.empty() && residents_.extents().empty()) return {};
    return plan_ranked_placement(std::move(candidates), residents_, view, {1.0, 0.5},
                                 "oracle: accesses within the horizon");
}

void OraclePolicy::migrated(const MigrationOrder& order, std::uint64_t) {
    auto it = homes_.find(order.lun);
    residents_.on_migrated(order, it == homes_.end() ? TierId{0xffff} : it->second);
}

}  // namespace rbdtier
