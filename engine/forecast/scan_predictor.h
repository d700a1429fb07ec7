// ScanPredictor: a running sequential scan at extent e moving at r extents/s will touch
// e+1, e+2, ... next; predicts those within the horizon.
//
// Follows each (LUN, initiator) stream with up to kRuns concurrent runs (like readahead
// windows: a scan interleaved with random I/O from the same initiator, or several scans, are
// each followed): an I/O extends the run whose last extent it is in or right after (within
// `max_gap_us`), or replaces an expired or the shortest run; a run of at least `min_run_extents` is
// a scan. Its rate is extents advanced / time taken, its intensity the I/Os per extent so far.
// predict() emits the extents the scan reaches within H (at most `max_ahead`), with their ETA,
// provided the scan is still alive (its last I/O is recent compared to its pace). Streams can be
// muted (anomalous initiators) so their scans are not predicted.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/forecast/forecast.h"
#include "engine/io_event.h"

namespace rbdtier {

class ScanPredictor {
public:
    ScanPredictor(std::uint64_t extent_bytes, std::uint32_t min_run_extents = 4,
                  std::uint32_t max_ahead = 256, std::uint64_t max_gap_us = 30'000'000)
        : extent_bytes_(extent_bytes),
          min_run_(min_run_extents),
          max_ahead_(max_ahead),
          max_gap_us_(max_gap_us) {}

    void observe(const IoEvent& e);
    void predict(std::uint64_t now_us, std::uint64_t horizon_us,
                 std::vector<ExtentForecast>& out) const;
    void mute(LunId lun, InitiatorId initiator, bool muted);
    bool muted(LunId lun, InitiatorId initiator) const;

    static constexpr std::size_t kRuns = 8;
    struct Run {
        ExtentIndex start_extent = 0;
        ExtentIndex last_extent = 0;
        std::uint64_t start_us = 0;
        std::uint64_t last_us = 0;
        std::uint64_t ios = 0;
        std::uint64_t length() const { return last_extent - start_extent; }
    };
    // The longest run of the stream (nullptr when the stream is unknown).
    const Run* run(LunId lun, InitiatorId initiator) const;
    std::size_t streams() const { return runs_.size(); }

private:
    static std::uint64_t stream_key(LunId lun, InitiatorId i) {
        return (static_cast<std::uint64_t>(lun) << 32) | i;
    }
    std::uint64_t extent_bytes_;
    std::uint32_t min_run_;
    std::uint32_t max_ahead_;
    std::uint64_t max_gap_us_;
    struct Stream {
        std::array<Run, kRuns> runs{};
        bool muted = false;
    };
    std::unordered_map<std::uint64_t, Stream> runs_;
};

}  // namespace rbdtier
