// Writes IoEvents as an MSR Cambridge CSV trace (no header, like the published files):
//   Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
// Timestamp = a fixed FILETIME origin (2007-02-22) + time_us * 10; Hostname = "host<initiator>",
// DiskNumber = LUN id, so that reading the file back gives one LUN per (initiator, LUN) pair.
// ResponseTime = latency_us * 10. Unmaps are written as writes (MSR has no unmap).
// Throws TraceError on any I/O error. Buffered, formatted with std::to_chars.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/io_event.h"

namespace rbdtier {

inline constexpr std::uint64_t kMsrFiletimeOrigin = 128166372000000000ull;

void write_msr_csv(const std::string& path, std::span<const IoEvent> events);

}  // namespace rbdtier
