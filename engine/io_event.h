// IoEvent: one completed SCSI command as the engine sees it.
//
// Produced by the handler's I/O path (one per completed command) and by trace readers
// (one per trace record). Plain data, 40 bytes, cheap to copy into per-thread buffers.
// Times are microseconds on one monotonic clock per source (trace time in replay).
#pragma once

#include <cstdint>

namespace rbdtier {

using LunId = std::uint32_t;
using InitiatorId = std::uint32_t;
using TierId = std::uint16_t;
using ExtentIndex = std::uint64_t;  // offset / extent size within one LUN

enum class IoOp : std::uint8_t { kRead = 0, kWrite = 1, kUnmap = 2 };

struct IoEvent {
    std::uint64_t time_us = 0;     // when the command completed (or arrived, for traces)
    std::uint64_t offset = 0;      // bytes from the start of the LUN
    std::uint32_t length = 0;      // bytes
    std::uint32_t latency_us = 0;  // 0 when unknown
    LunId lun = 0;
    InitiatorId initiator = 0;
    IoOp op = IoOp::kRead;
};

}  // namespace rbdtier
