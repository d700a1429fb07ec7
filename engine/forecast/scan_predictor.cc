#include "engine/forecast/scan_predictor.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace rbdtier {

void ScanPredictor::observe(const IoEvent& e) {
    Stream& st = runs_[stream_key(e.lun, e.initiator)];
    const ExtentIndex x = e.offset / extent_bytes_;
    const ExtentIndex x_end = (e.offset + std::max<std::uint32_t>(e.length, 1) - 1) / extent_bytes_;
    Run* hit = nullptr;
    Run* stalest = &st.runs[0];
    for (Run& r : st.runs) {
        if (r.ios != 0 && e.time_us >= r.last_us && e.time_us - r.last_us <= max_gap_us_ &&
            (x == r.last_extent || x == r.last_extent + 1)) {
            if (hit == nullptr || r.length() > hit->length()) hit = &r;
        }
        // Victim for a new run: an empty or expired run, else the shortest (then oldest), so
        // random I/O interleaved with a scan churns through its one-extent runs only.
        const auto rank = [&](const Run& q) {
            const bool dead =
                q.ios == 0 || e.time_us < q.last_us || e.time_us - q.last_us > max_gap_us_;
            return std::make_pair(dead ? 0 : q.length() + 1, q.last_us);
        };
        if (rank(r) < rank(*stalest)) stalest = &r;
    }
    if (hit == nullptr) {
        hit = stalest;
        hit->start_extent = x;
        hit->start_us = e.time_us;
        hit->ios = 0;
        hit->last_us = e.time_us;
    }
    hit->last_extent = x_end;
    hit->last_us = std::max(hit->last_us, e.time_us);
    ++hit->ios;
}

void ScanPredictor::predict(std::uint64_t now_us, std::uint64_t horizon_us,
                            std::vector<ExtentForecast>& out) const {
    for (const auto& [key, st] : runs_) {
        if (st.muted) continue;
        for (const Run& r : st.runs) {
            if (r.ios == 0 || r.length() < min_run_ || r.last_us <= r.start_us) continue;
            const double us_per_extent =
                static_cast<double>(r.last_us - r.start_us) / static_cast<double>(r.length());
            // Dead when it has been silent for much longer than its pace.
            const double silent =
                now_us > r.last_us ? static_cast<double>(now_us - r.last_us) : 0.0;
            if (silent > 4.0 * us_per_extent + 2e6) continue;
            const double per_extent =
                static_cast<double>(r.ios) / static_cast<double>(r.length() + 1);
            const double confidence = 1.0 - 2.0 / (static_cast<double>(r.length()) + 2.0);
            const auto ahead = static_cast<std::uint64_t>(std::min<double>(
                max_ahead_, std::ceil(static_cast<double>(horizon_us) / us_per_extent)));
            const LunId lun = static_cast<LunId>(key >> 32);
            for (std::uint64_t k = 1; k <= ahead; ++k) {
                ExtentForecast f;
                f.key = make_extent_key(lun, r.last_extent + k);
                f.model = ModelId::kScan;
                f.forecast = {confidence, per_extent * confidence};
                f.eta_us =
                    r.last_us + static_cast<std::uint64_t>(us_per_extent * static_cast<double>(k));
                if (f.eta_us > now_us + horizon_us) break;
                out.push_back(f);
            }
        }
    }
}

void ScanPredictor::mute(LunId lun, InitiatorId initiator, bool muted) {
    runs_[stream_key(lun, initiator)].muted = muted;
}

bool ScanPredictor::muted(LunId lun, InitiatorId initiator) const {
    auto it = runs_.find(stream_key(lun, initiator));
    return it != runs_.end() && it->second.muted;
}

const ScanPredictor::Run* ScanPredictor::run(LunId lun, InitiatorId initiator) const {
    auto it = runs_.find(stream_key(lun, initiator));
    if (it == runs_.end()) return nullptr;
    const Run* best = &it->second.runs[0];
    for (const Run& r : it->second.runs)
        if (r.ios != 0 && r.length() > best->length()) best = &r;
    return best;
}

}  // namespace rbdtier
