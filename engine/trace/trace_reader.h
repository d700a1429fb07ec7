// TraceReader: streams a block I/O trace file as IoEvents, one record at a time.
//
// Never loads the file: text is read in 1 MiB chunks and parsed in place (std::from_chars),
// binary records likewise. Times are normalized to µs from the first record (earlier records,
// if the trace is not sorted, get time 0 and should be sorted by the caller); offsets and
// lengths are bytes; the volume key of each format becomes a LUN id and the host (or the
// volume) an initiator id, both dense in order of first appearance (volumes()).
// Errors (unreadable or empty file, unknown format, malformed or truncated record, a request
// larger than 4 GiB, an offset + length past 2^62 bytes (where the engine's extent keys end;
// also any sum that would wrap 2^64), more than 2^24 volumes) throw TraceError naming the file
// and the 1-based line or record number.
// Records that are not data I/O (other SCSI commands) are skipped and counted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/io_event.h"
#include "engine/trace/trace_format.h"
#include "engine/trace/volume_table.h"

namespace rbdtier {

struct TraceReaderOptions {
    TraceFormat format = TraceFormat::kAuto;
    TimeUnit disksim_time_unit = TimeUnit::kMilliseconds;
};

class TraceReader {
public:
    virtual ~TraceReader() = default;
    static std::unique_ptr<TraceReader> open(const std::string& path,
                                             const TraceReaderOptions& options = {});

    // The next event; false at the end of the trace.
    virtual bool next(IoEvent& event) = 0;

    TraceFormat format() const { return format_; }
    const VolumeTable& volumes() const { return volumes_; }
    std::uint64_t events() const { return events_; }    // returned so far
    std::uint64_t skipped() const { return skipped_; }  // non-I/O records
    std::uint64_t file_bytes() const { return file_bytes_; }
    virtual std::uint64_t bytes_consumed() const = 0;

protected:
    TraceFormat format_ = TraceFormat::kAuto;
    VolumeTable volumes_;
    std::uint64_t events_ = 0;
    std::uint64_t skipped_ = 0;
    std::uint64_t file_bytes_ = 0;
};

// Reads up to `limit` events (0 = all) of a trace into memory, sorted by time.
struct LoadedTrace {
    std::vector<IoEvent> events;
    VolumeTable volumes;
    TraceFormat format = TraceFormat::kAuto;
    std::uint64_t skipped = 0;
};
using LoadProgress = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;
LoadedTrace load_trace(const std::string& path, const TraceReaderOptions& options,
                       std::uint64_t limit = 0, const LoadProgress& progress = {});

}  // namespace rbdtier
