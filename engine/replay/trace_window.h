// TraceWindow: a part of a loaded trace to replay on its own, as if it were the whole trace: the
// I/Os from `from_us` after the trace's first I/O, for `length_us` (0: to the end), of one
// volume (LUN) or of all. A short window from the middle of a long trace is a trace a policy has
// not seen the start of: a test of how it does on a short or unfamiliar load.
// Pure functions over sorted events (sort_by_time); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/io_event.h"

namespace rbdtier {

struct TraceWindow {
    std::uint64_t from_us = 0;    // after the first I/O of the trace
    std::uint64_t length_us = 0;  // 0: to the end
    std::optional<LunId> lun;     // empty: every LUN
};

// The events of `events` (sorted by time) that fall in `window`, in order, times unchanged.
std::vector<IoEvent> window_of(std::span<const IoEvent> events, const TraceWindow& window);

// Parses "FROM[:LENGTH]" in seconds (e.g. "600:60", "0:30.5", "1200"); the LUN is not part of
// it. Throws std::invalid_argument naming what is wrong.
TraceWindow parse_trace_window(std::string_view text);

}  // namespace rbdtier
