#include "engine/forecast/recurrence_predictor.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

Forecast recurrence_forecast(const ExtentStats& s, std::uint32_t now_tick,
                             const RecurrenceParams& p) {
    if (s.prev_episode_start == 0 || s.episode_start <= s.prev_episode_start) return {};
    if (now_tick <= s.last_tick || now_tick - s.last_tick <= p.episode_gap_ticks) return {};
    const std::uint32_t own = s.episode_start - s.prev_episode_start;
    if (own < 2 * p.episode_gap_ticks) return {};
    std::uint32_t period = own;
    double confidence = 0.5;
    if (p.lun_period_ticks > 0) {
        const double ratio = static_cast<double>(own) / p.lun_period_ticks;
        const double nearest = std::round(ratio);
        if (nearest >= 1 && nearest <= 3 && std::abs(ratio - nearest) <= 0.2 * nearest) {
            period = static_cast<std::uint32_t>(nearest) * p.lun_period_ticks;
            confidence = 0.9;
        }
    }
    const std::uint32_t duration = s.last_tick - s.episode_start;
    const double size =
        0.5 * (static_cast<double>(s.episode_count) + static_cast<double>(s.prev_episode_count));
    std::uint64_t next = static_cast<std::uint64_t>(s.episode_start) + period;
    int k = 1;
    while (next + duration < now_tick && k < 4) {
        next += period;
        ++k;
    }
    if (next + duration < now_tick) return {};
    confidence *= std::pow(0.7, k - 1);
    const std::uint64_t window_end = static_cast<std::uint64_t>(now_tick) + p.horizon_ticks;
    const std::uint64_t start = next > p.lead_ticks ? next - p.lead_ticks : 0;
    if (start > window_end) return {};
    // Part of the predicted episode [next, next + duration] inside [now, now + H].
    double fraction = 1.0;
    if (duration > 0) {
        const std::uint64_t lo = std::max<std::uint64_t>(next, now_tick);
        const std::uint64_t hi = std::min<std::uint64_t>(next + duration, window_end);
        fraction =
            hi > lo ? static_cast<double>(hi - lo) / duration : (next >= now_tick ? 0.1 : 0.0);
        if (next >= now_tick && next <= window_end) fraction = std::max(fraction, 0.1);
    }
    if (fraction <= 0) return {};
    return {confidence, confidence * size * fraction};
}

}  // namespace rbdtier
