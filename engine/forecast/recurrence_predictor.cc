#include "engine/forecast/recurrence_predictor.h"

#include <algorithm>
#include <cmath>

namespace rbdtier {

Forecast recurrence_forecast(const ExtentStats& s, std::uint32_t now_tick,
                             const RecurrenceParams& p) {
    if (s.anchor_start == 0 || s.period_buckets() == 0) return {};
    const bool anchor_is_current = s.anchor_is_current();
    // While the anchor episode is still going on, other models speak for it.
    if (anchor_is_current &&
        (now_tick <= s.last_tick || now_tick - s.last_tick <= p.episode_gap_ticks))
        return {};
    const std::uint32_t own = static_cast<std::uint32_t>(s.period_buckets()) * p.bucket_ticks;
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
    // Duration and size of the anchor episode (the current one when it is the anchor).
    // (A finished anchor's duration is not kept: assume a fifth of the period.)
    // The anchor's duration is known while it is the current episode; a finished anchor is
    // treated as a burst of `size` accesses at its start, still expected for a grace period
    // (a fifth of the period) after its predicted start.
    const std::uint32_t duration =
        anchor_is_current ? std::min(s.last_tick - s.anchor_start, period / 2) : 0;
    const std::uint32_t grace = anchor_is_current ? duration : period / 5;
    const double size = anchor_is_current ? std::max<double>(s.episode_count, s.anchor_count)
                                          : std::max<double>(s.anchor_count, kSubstantialEpisode);
    std::uint64_t next = static_cast<std::uint64_t>(s.anchor_start) + period;
    int k = 1;
    while (next + grace < now_tick && k < 4) {
        next += period;
        ++k;
    }
    if (next + grace < now_tick) return {};
    confidence *= std::pow(0.7, k - 1);
    const std::uint64_t window_end = static_cast<std::uint64_t>(now_tick) + p.horizon_ticks;
    if (next > window_end) return {};
    // Part of the predicted episode [next, next + duration] inside [now, now + H].
    double fraction = 1.0;
    if (duration > 0) {
        const std::uint64_t lo = std::max<std::uint64_t>(next, now_tick);
        const std::uint64_t hi = std::min<std::uint64_t>(next + duration, window_end);
        fraction = hi > lo ? static_cast<double>(hi - lo) / duration : 0.0;
        if (next >= now_tick) fraction = std::max(fraction, 0.1);
    }
    if (fraction <= 0) return {};
    // Urgency: an episode due within the lead time counts fully; one due later in the horizon
    // counts less (there is still time to move it), so what is needed now is not displaced by
    // what is needed later.
    const double lead = std::max<double>(p.lead_ticks, p.horizon_ticks / 4.0);
    const double until = next > now_tick ? static_cast<double>(next - now_tick) : 0.0;
    const double urgency =
        until <= lead ? 1.0
                      : std::max(0.1, 1.0 - (until - lead) / std::max(1.0, p.horizon_ticks - lead));
    return {confidence, confidence * size * fraction * urgency};
}

}  // namespace rbdtier
