// IoCommand: the handler's state for one SCSI command while librbd works on it.
//
// Taken from the LUN's FreeList at submission, given back when librbd completes, so the
// common path allocates nothing of ours. The scratch vectors keep their capacity across
// reuse (for trimmed iovecs and CAW/WRITE SAME staging when the iovec is not contiguous).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/io_event.h"
#include "handler/tcmu_abi.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

class Lun;

struct IoCommand {
    Lun* lun = nullptr;
    tcmu_device* dev = nullptr;
    tcmur_cmd* cmd = nullptr;
    std::uint64_t offset = 0;           // bytes
    std::uint64_t length = 0;           // bytes
    std::uint64_t start_us = 0;         // monotonic
    std::uint64_t mismatch_offset = 0;  // CAW: absolute byte offset of the first mismatch
    InitiatorId initiator = 0;
    IoKind kind = IoKind::kRead;
    bool from_heap = false;            // allocated because the free list was empty
    const iovec* read_back = nullptr;  // read through bounce: scatter into this on completion
    std::size_t read_back_cnt = 0;
    const char* caw_compare = nullptr;  // CAW: the data that was expected
    bool caw_verifying = false;         // CAW: reading back to locate a miscompare
    std::vector<iovec> iov_scratch;
    std::vector<char> verify;  // CAW read-back
    std::vector<char> bounce;
};

}  // namespace rbdtier
