// AnomalyDetector: notices an initiator doing something its own history says it does not do.
//
// Per (LUN, initiator) stream, activity is summarised per window (window_us): sequential extent
// steps (I/O moving to the next extent: a scan) and write spread (writes landing on a different
// extent than the previous write). A baseline of each is kept as an exponentially weighted mean
// of the stream's past normal windows. Once a baseline exists (baseline_windows windows), a
// window that exceeds it by `factor` and by at least `min_extents` raises an alert at once:
// kind scan or overwrite burst, with the initiator, LUN, extent range and time. While alerted,
// the stream is muted: its extents are quarantined (not promoted on its account) until an
// unmuted initiator accesses them; the alert ends after a window back within the baseline.
// Anomalous windows do not feed the baseline. Each alert is logged (common/log.h, warning,
// rate-limited). Engine-thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/extent_key.h"

namespace rbdtier {

enum class AnomalyKind : std::uint8_t { kScan, kOverwriteBurst };

struct AnomalyAlert {
    LunId lun = 0;
    InitiatorId initiator = 0;
    ExtentIndex first_extent = 0;
    ExtentIndex last_extent = 0;
    AnomalyKind kind = AnomalyKind::kScan;
    std::uint64_t time_us = 0;
    std::uint64_t extents = 0;  // extents touched in the window that raised it
    std::string describe() const;
};

class AnomalyDetector {
public:
    AnomalyDetector(std::uint64_t extent_bytes, std::uint64_t window_us,
                    std::uint32_t min_extents = 32, double factor = 8.0,
                    std::uint32_t baseline_windows = 4);

    // Every I/O in time order. Returns true when this I/O belongs to an anomalous stream.
    bool observe(const IoEvent& e);
    bool muted(LunId lun, InitiatorId initiator) const;
    bool quarantined(ExtentKey key) const { return quarantine_.count(key) != 0; }
    std::size_t quarantined_extents() const { return quarantine_.size(); }
    const std::vector<AnomalyAlert>& alerts() const { return alerts_; }
    std::size_t active_alerts() const;

private:
    struct Stream {
        std::uint64_t window = 0;
        bool started = false;
        ExtentIndex last_extent = ~ExtentIndex{0};
        ExtentIndex last_write_extent = ~ExtentIndex{0};
        double steps = 0, spread = 0;            // this window
        double base_steps = 0, base_spread = 0;  // baselines (per window)
        std::uint32_t windows = 0;               // normal windows seen
        ExtentIndex lo = ~ExtentIndex{0}, hi = 0;
        std::vector<ExtentIndex> touched;  // extents of this window (bounded)
        bool alerted = false;
        bool anomalous_window = false;
    };
    void close_window(Stream& s);
    void raise(Stream& s, LunId lun, InitiatorId initiator, AnomalyKind kind, std::uint64_t t);

    std::uint64_t extent_bytes_;
    std::uint64_t window_us_;
    double min_extents_;
    double factor_;
    std::uint32_t baseline_windows_;
    std::unordered_map<std::uint64_t, Stream> streams_;
    std::unordered_set<ExtentKey> quarantine_;
    std::vector<AnomalyAlert> alerts_;
};

}  // namespace rbdtier
