// Trace formats rbdtier can read, their names, and detection from a trace's first bytes.
//
// Names (CLI --format): msr, spc, alibaba, tencent, disksim, vscsi, cloudphysics-csv, replayer,
// blkreplay; "auto" means detect. Detection looks at the first 16 KiB (decompressed when the
// file is gzip): binary with a vscsi v1 version field in the first records -> vscsi; a text with
// `start ; sector ; length ; R|W ; delay ; duration` records after free text -> blkreplay;
// otherwise the first non-empty text lines (after an optional header) are matched against each
// format's field shapes. The replayer layout has DiskSim's columns but bytes: it is told apart
// by offsets and sizes that are all whole 512-byte sectors and an op of 0 or 1.
// See TRACE-FORMATS.md for the columns.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rbdtier {

enum class TraceFormat {
    kAuto,
    kMsr,
    kSpc,
    kAlibaba,
    kTencent,
    kDiskSim,
    kVscsi,
    kCloudPhysicsCsv,
    kReplayer,
    kBlkReplay
};

std::optional<TraceFormat> parse_trace_format(std::string_view name);
std::string_view trace_format_name(TraceFormat format);
std::vector<TraceFormat> all_trace_formats();  // without kAuto

enum class TimeUnit { kNanoseconds, kMicroseconds, kMilliseconds, kSeconds };
std::optional<TimeUnit> parse_time_unit(std::string_view name);  // ns, us, ms, s
double microseconds_per(TimeUnit unit);

// The format of a trace whose first bytes are `head`; nullopt when nothing fits.
std::optional<TraceFormat> detect_trace_format(std::string_view head);

}  // namespace rbdtier
