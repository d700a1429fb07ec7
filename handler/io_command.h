// IoCommand: the handler's state for one SCSI command while librbd works on it.
//
// Taken from the LUN's FreeList at submission, given back when librbd completes, so the
// common path allocates nothing of ours. The scratch vectors keep their capacity across
// reuse (for trimmed iovecs and CAW/WRITE SAME staging when the iovec is not contiguous).
// issue_io() is the one place a command's operation is handed to librbd (whole on a plain LUN,
// a part of it on a tiered one); completed_event() is the one place its IoEvent is built.
#pragma once

#include <rbd/librbd.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/io_event.h"
#include "handler/tcmu_abi.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

class Lun;
class ExtentRouter;

struct IoCommand {
    Lun* lun = nullptr;              // completes the command (on_complete)
    ExtentRouter* router = nullptr;  // collects its parts when routed (tiered LUNs)
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

    // What to issue, kept so that a tiered command can be split per tier and re-issued after
    // waiting for a migration commit (see ExtentRouter::route).
    const iovec* data_iov = nullptr;  // read/write: exactly `length` bytes; null: use data_buf
    int data_iov_cnt = 0;
    char* data_buf = nullptr;  // contiguous data: bounce, write-same pattern, CAW buffers
    std::size_t pattern = 0;   // write same: pattern length
    // Tiered LUNs: the extents this command entered in the ExtentGate, the image a CAW went
    // to (for its read-back), and the parts still in flight when split across tiers.
    std::uint64_t first_extent = 0;
    std::uint64_t last_extent = 0;
    bool gated = false;
    std::uint8_t first_tier = 0;  // the tier the first extent was routed to (0: home, untiered)
    rbd_image_t routed_image = nullptr;
    std::atomic<int> parts{0};
    std::atomic<long> part_error{0};
    std::vector<iovec> slices;  // per-part iovec slices
};

// Issues c's operation on `image` for [off, off+len) of it (a part of c when split): `v`/`cnt`
// the iovec of exactly those bytes, or null to use c->data_buf. librbd's submission result: 0,
// or a negative errno when librbd did not take the operation (`comp` is then still the caller's).
long issue_io(IoCommand* c, rbd_image_t image, std::uint64_t off, std::uint64_t len, const iovec* v,
              int cnt, rbd_completion_t comp);

// The IoEvent of c completed at `end_us` (monotonic µs) on LUN `lun`; not for a FLUSH.
IoEvent completed_event(const IoCommand& c, LunId lun, std::uint64_t end_us) noexcept;

}  // namespace rbdtier
