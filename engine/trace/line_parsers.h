// Line parsers for the text trace formats: one line -> one TraceRecord in the trace's own clock.
//
// A parser converts units (sectors, FILETIME ticks, seconds) to bytes and microseconds and names
// the volume (the LUN key) and the initiator. It throws RecordError (message without location;
// the reader adds file and line) on a malformed line: wrong number of fields, a bad number, an
// unknown op. is_header() recognises a column-name line (only the first line may be one).
// Records that are not data I/O (e.g. a SCSI command other than read/write/unmap) set `skip`.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/io_event.h"
#include "engine/trace/trace_format.h"

namespace rbdtier {

class RecordError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct TraceRecord {
    std::int64_t time_us = 0;  // absolute, the trace's clock
    std::uint64_t offset = 0;  // bytes
    std::uint64_t length = 0;  // bytes
    std::uint32_t latency_us = 0;
    IoOp op = IoOp::kRead;
    bool skip = false;
    std::string_view volume;     // LUN key; valid until the next parse
    std::string_view initiator;  // empty = the volume
};

class LineParser {
public:
    virtual ~LineParser() = default;
    virtual bool is_header(std::string_view line) const;
    // True when a line that is not a record is skipped rather than an error.
    virtual bool skips_malformed() const { return false; }
    virtual void parse(std::string_view line, TraceRecord& out) = 0;
};

// `disksim_unit` is the DiskSim time unit (DiskSim itself writes milliseconds).
std::unique_ptr<LineParser> make_line_parser(TraceFormat format, TimeUnit disksim_unit);

// SCSI opcode -> op; false when the command is not a read, write or unmap.
bool scsi_opcode_op(unsigned opcode, IoOp& op);

}  // namespace rbdtier
