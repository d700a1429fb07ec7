#include "engine/anomaly.h"

#include <algorithm>

#include "common/log.h"

namespace rbdtier {

namespace {
constexpr std::size_t kMaxTouched = 1 << 14;
constexpr double kBaselineAlpha = 0.2;
std::uint64_t stream_key(LunId lun, InitiatorId i) {
    return (static_cast<std::uint64_t>(lun) << 32) | i;
}
}  // namespace

std::string AnomalyAlert::describe() const {
    return std::string(kind == AnomalyKind::kScan ? "scan" : "overwrite burst") + " by initiator " +
           std::to_string(initiator) + " on LUN " + std::to_string(lun) + ", extents " +
           std::to_string(first_extent) + "-" + std::to_string(last_extent) + " (" +
           std::to_string(extents) + " extents) at " + std::to_string(time_us) + " us";
}

AnomalyDetector::AnomalyDetector(std::uint64_t extent_bytes, std::uint64_t window_us,
                                 std::uint32_t min_extents, double factor,
                                 std::uint32_t baseline_windows)
    : extent_bytes_(extent_bytes),
      window_us_(std::max<std::uint64_t>(window_us, 1)),
      min_extents_(min_extents),
      factor_(factor),
      baseline_windows_(baseline_windows) {}

void AnomalyDetector::close_window(Stream& s) {
    if (!s.anomalous_window) {
        if (s.windows == 0) {
            s.base_steps = s.steps;
            s.base_spread = s.spread;
        } else {
            s.base_steps = (1 - kBaselineAlpha) * s.base_steps + kBaselineAlpha * s.steps;
            s.base_spread = (1 - kBaselineAlpha) * s.base_spread + kBaselineAlpha * s.spread;
        }
        ++s.windows;
        s.alerted = false;  // back within its baseline
    }
    s.steps = s.spread = 0;
    s.lo = ~ExtentIndex{0};
    s.hi = 0;
    s.touched.clear();
    s.anomalous_window = false;
}

void AnomalyDetector::raise(Stream& s, LunId lun, InitiatorId initiator, AnomalyKind kind,
                            std::uint64_t t) {
    s.anomalous_window = true;
    if (s.alerted) return;
    s.alerted = true;
    AnomalyAlert a;
    a.lun = lun;
    a.initiator = initiator;
    a.first_extent = s.lo;
    a.last_extent = s.hi;
    a.kind = kind;
    a.time_us = t;
    a.extents = s.touched.size();
    RBDTIER_LOG_LIMITED(log::Level::kWarning, "",
                        "anomaly: " << a.describe()
                                    << "; its extents are not promoted on its "
                                       "account until it ends");
    alerts_.push_back(a);
    for (ExtentIndex x : s.touched) quarantine_.insert(make_extent_key(lun, x));
}

bool AnomalyDetector::observe(const IoEvent& e) {
    Stream& s = streams_[stream_key(e.lun, e.initiator)];
    const std::uint64_t w = e.time_us / window_us_;
    if (!s.started) {
        s.started = true;
        s.window = w;
    } else if (w > s.window) {
        close_window(s);
        // Idle windows in between count as quiet, normal windows.
        s.window = w;
    }
    const ExtentIndex x = e.offset / extent_bytes_;
    if (s.last_extent != ~ExtentIndex{0} && x == s.last_extent + 1) s.steps += 1;
    if (e.op == IoOp::kWrite && x != s.last_write_extent) {
        s.spread += 1;
        s.last_write_extent = x;
    }
    if (x != s.last_extent) {
        if (s.touched.size() < kMaxTouched) s.touched.push_back(x);
        s.lo = std::min(s.lo, x);
        s.hi = std::max(s.hi, x);
    }
    s.last_extent = x;
    const bool baseline = s.windows >= baseline_windows_;
    if (baseline) {
        if (s.steps >= min_extents_ && s.steps > factor_ * s.base_steps)
            raise(s, e.lun, e.initiator, AnomalyKind::kScan, e.time_us);
        else if (s.spread >= min_extents_ && s.spread > factor_ * s.base_spread)
            raise(s, e.lun, e.initiator, AnomalyKind::kOverwriteBurst, e.time_us);
    }
    const ExtentKey key = make_extent_key(e.lun, x);
    if (s.alerted)
        quarantine_.insert(key);
    else if (!quarantine_.empty())
        quarantine_.erase(key);
    return s.alerted;
}

bool AnomalyDetector::muted(LunId lun, InitiatorId initiator) const {
    auto it = streams_.find(stream_key(lun, initiator));
    return it != streams_.end() && it->second.alerted;
}

std::size_t AnomalyDetector::active_alerts() const {
    std::size_t n = 0;
    for (const auto& [k, s] : streams_)
        if (s.alerted) ++n;
    return n;
}

}  // namespace rbdtier
