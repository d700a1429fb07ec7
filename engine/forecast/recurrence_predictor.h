// RecurrencePredictor: an extent active in episodes that return every period (a batch job's
// hot set, a daily report) will be active again one period after its last episode started.
//
// Stateless over an ExtentStats: the extent's own period is the distance between its last two
// substantial episode starts. When its LUN shows a season (Holt-Winters' autocorrelation period),
// an extent period that matches it (or a small multiple of it: the extent is active every k-th
// season) is snapped to that multiple and trusted more.
// Predicts the next episode [start + k*period, + its duration] when it overlaps [now, now + H]
// (while the current episode is over); expected accesses = the anchor episode's size, scaled by
// the overlap and by urgency (full within the lead time, down to 10% at the horizon's end).
// No opinion (p = 0) otherwise.
#pragma once

#include <cstdint>

#include "engine/extent_stats.h"
#include "engine/forecast/forecast.h"

namespace rbdtier {

struct RecurrenceParams {
    std::uint32_t bucket_ticks = 1000;
    std::uint32_t horizon_ticks = 6000;
    std::uint32_t episode_gap_ticks = 3000;
    std::uint32_t lun_period_ticks = 0;  // 0: the LUN shows no season
    std::uint32_t lead_ticks = 0;        // full value this long before the start (0 = H/4)
};

Forecast recurrence_forecast(const ExtentStats& s, std::uint32_t now_tick,
                             const RecurrenceParams& params);

}  // namespace rbdtier
