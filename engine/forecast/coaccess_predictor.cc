#include "engine/forecast/coaccess_predictor.h"

#include <algorithm>
#include <iterator>

namespace rbdtier {

void CoAccessPredictor::observe_episode_start(ExtentKey b, std::uint64_t t) {
    for (const Start& s : recent_) {
        if (s.key == kNoExtent || s.key == b || key_lun(s.key) != key_lun(b)) continue;
        if (t < s.time_us || t - s.time_us > window_us_) continue;
        auto it = table_.find(s.key);
        if (it == table_.end()) continue;
        auto& fs = it->second.followers;
        Follower* slot = nullptr;
        for (auto& f : fs)
            if (f.key == b) slot = &f;
        if (slot == nullptr) {
            slot = &*std::min_element(
                fs.begin(), fs.end(),
                [](const Follower& x, const Follower& y) { return x.count < y.count; });
            // Replace the weakest follower; the newcomer starts from scratch (inheriting the
            // evicted count would overstate its confidence).
            slot->key = b;
            slot->count = 0;
        }
        slot->count += 1.0f;
    }
    auto it = table_.find(b);
    if (it == table_.end()) {
        if (table_.size() >= max_sources_) forget_older_half();
        if (table_.size() < max_sources_) it = table_.emplace(b, Source{}).first;
    }
    if (it != table_.end()) {
        ++it->second.episodes;
        it->second.last_start_us = t;
        if (started_.size() < max_sources_) started_.push_back(b);
    }
    recent_[recent_pos_] = {b, t};
    recent_pos_ = (recent_pos_ + 1) % kRecent;
}

void CoAccessPredictor::forget_older_half() {
    std::vector<std::uint64_t> starts;
    starts.reserve(table_.size());
    for (const auto& [key, src] : table_) starts.push_back(src.last_start_us);
    if (starts.empty()) return;
    auto mid = starts.begin() + static_cast<std::ptrdiff_t>(starts.size() / 2);
    std::nth_element(starts.begin(), mid, starts.end());
    const std::uint64_t cut = *mid;
    for (auto it = table_.begin(); it != table_.end();)
        it =
            it->second.last_start_us < cut || (it->second.last_start_us == cut && table_.size() > 1)
                ? table_.erase(it)
                : std::next(it);
    std::erase_if(started_, [&](ExtentKey k) { return table_.count(k) == 0; });
}

void CoAccessPredictor::predict(std::vector<ExtentForecast>& out) {
    for (ExtentKey a : started_) {
        auto it = table_.find(a);
        if (it == table_.end()) continue;
        const Source& src = it->second;
        if (src.episodes < 3) continue;
        for (const auto& f : src.followers) {
            if (f.key == kNoExtent) continue;
            const double c = std::min(1.0, f.count / static_cast<double>(src.episodes));
            if (c < min_confidence_) continue;
            ExtentForecast ef;
            ef.key = f.key;
            ef.model = ModelId::kCoAccess;
            ef.forecast = {c, c};
            ef.eta_us = src.last_start_us;
            out.push_back(ef);
        }
    }
    started_.clear();
}

double CoAccessPredictor::confidence(ExtentKey a, ExtentKey b) const {
    auto it = table_.find(a);
    if (it == table_.end() || it->second.episodes == 0) return 0.0;
    for (const auto& f : it->second.followers)
        if (f.key == b) return std::min(1.0, f.count / static_cast<double>(it->second.episodes));
    return 0.0;
}

}  // namespace rbdtier
