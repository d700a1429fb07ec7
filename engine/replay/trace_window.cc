#include "engine/replay/trace_window.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rbdtier {

std::vector<IoEvent> window_of(std::span<const IoEvent> events, const TraceWindow& window) {
    std::vector<IoEvent> out;
    if (events.empty()) return out;
    const std::uint64_t first = events.front().time_us;
    const std::uint64_t from = first + window.from_us;
    for (const IoEvent& e : events) {
        if (e.time_us < from) continue;
        if (window.length_us != 0 && e.time_us - from >= window.length_us) break;
        if (window.lun && e.lun != *window.lun) continue;
        out.push_back(e);
    }
    return out;
}

namespace {

std::uint64_t seconds_to_us(std::string_view text, const char* what) {
    double s = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(s) || s < 0 ||
        s > 1e12)
        throw std::invalid_argument("window: " + std::string(what) + " '" + std::string(text) +
                                    "' is not a number of seconds ≥ 0");
    return static_cast<std::uint64_t>(std::llround(s * 1e6));
}

}  // namespace

TraceWindow parse_trace_window(std::string_view text) {
    TraceWindow w;
    const auto colon = text.find(':');
    w.from_us = seconds_to_us(text.substr(0, colon), "start");
    if (colon != std::string_view::npos) {
        w.length_us = seconds_to_us(text.substr(colon + 1), "length");
        if (w.length_us == 0)
            throw std::invalid_argument(
                "window: a length of 0 s holds no I/O (leave it out: "
                "to the end)");
    }
    return w;
}

}  // namespace rbdtier
