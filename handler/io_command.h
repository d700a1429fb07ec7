// IoCommand: the handler's state for one SCSI command while librbd works on it.
//
// Taken from the LUN's FreeList at submission, given back when librbd completes, so the
// common path allocates nothing of ours. The scratch vectors keep their capacity across
// reuse (for trimmed iovecs and CAW/WRITE SAME staging when the iovec is not contiguous).
// issue_io() is the one place a command's operation is handed to librbd (whole on a plain LUN,
// a part of it on a tiered one); completed_event() is the one place its IoEvent is built (by
// the ExtentRouter, once per command); a COMPARE AND WRITE's miscompare is located here
// (reading_back_miscompare, miscompare_index), whichever path issued it. A command is answered
// through its LUN's CommandAnswers (handler/lun_commands.h), which neither path calls back from.
// Nothing here takes a lock; an IoCommand is used by one thread at a time (the callout, then
// librbd's completion threads), except the part counters, which are atomic.
#pragma once

#include <rbd/librbd.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "engine/io_event.h"
#include "handler/tcmu_abi.h"
#include "handler/tcmu_status.h"

namespace rbdtier {

class ExtentRouter;
struct IoCommand;

// Where the commands of a LUN are answered (handler/lun_commands.h; a test's own in tests).
class CommandAnswers {
public:
    virtual ~CommandAnswers() = default;
    // c's operation completed with rc (librbd's result; when split, the first failed part's, else
    // 0) at end_us (steady_clock µs): c is answered with what rc means, exactly once, and given
    // back. A tiered command has left the gate (and its event is recorded) before.
    virtual void answer(IoCommand* c, long rc, std::uint64_t end_us) = 0;
    // c was queued, then failed before anything was issued (a parked command that could not be
    // routed on resume): answered with `status` and given back.
    virtual void complete_now(IoCommand* c, int status) = 0;
    // The gate refused c because this gateway's client is blocklisted: the LUN's lock is lost
    // (c itself is answered by the caller's status).
    virtual void fenced(IoCommand* c) = 0;
};

struct IoCommand {
    // What a command's callout sets and its completion reads, plain LUN or tiered: the first 128
    // bytes of the command, so that handing it from the callout's thread to librbd's completion
    // thread moves as few cache lines as can be. What only some kinds of command use comes after.
    CommandAnswers* answers = nullptr;  // answers the command when librbd completes it
    tcmu_device* dev = nullptr;
    tcmur_cmd* cmd = nullptr;
    std::uint64_t offset = 0;    // bytes
    std::uint64_t length = 0;    // bytes
    std::uint64_t start_us = 0;  // monotonic
    // What to issue, kept so that a tiered command can be split per tier and re-issued after
    // waiting for a migration commit (see ExtentRouter::route).
    const iovec* data_iov = nullptr;  // read/write: exactly `length` bytes; null: use data_buf
    char* data_buf = nullptr;         // contiguous data: bounce, write-same pattern, CAW buffers
    int data_iov_cnt = 0;
    InitiatorId initiator = 0;
    IoKind kind = IoKind::kRead;
    bool from_heap = false;       // allocated because the free list was empty
    bool gated = false;           // tiered: entered in the ExtentGate (first_extent..last_extent)
    std::uint8_t first_tier = 0;  // the tier the first extent was routed to (0: home, untiered)
    bool caw_verifying = false;   // CAW: reading back to locate a miscompare
    // Tiered LUNs: the parts still in flight when split across tiers (1 when not split).
    std::atomic<int> parts{0};
    const iovec* read_back = nullptr;  // read through bounce: scatter into this on completion
    // Tiered LUNs: the router that collects the command's parts, the extents it entered in the
    // ExtentGate, and the first error of its parts.
    ExtentRouter* router = nullptr;
    std::uint64_t first_extent = 0;
    std::uint64_t last_extent = 0;
    std::atomic<long> part_error{0};

    std::size_t read_back_cnt = 0;
    std::size_t pattern = 0;             // write same: pattern length
    const char* caw_compare = nullptr;   // CAW: the data that was expected
    std::uint64_t mismatch_offset = 0;   // CAW: absolute byte offset of the first mismatch
    rbd_image_t routed_image = nullptr;  // the image a CAW went to (for its read-back)
    std::vector<iovec> slices;           // tiered: per-part iovec slices

    // Scratch that keeps its capacity across reuse.
    std::vector<iovec> iov_scratch;
    std::vector<char> verify;  // CAW read-back
    std::vector<char> bounce;
};

// Issues c's operation on `image` for [off, off+len) of it (a part of c when split): `v`/`cnt`
// the iovec of exactly those bytes, or null to use c->data_buf. librbd's submission result: 0,
// or a negative errno when librbd did not take the operation (`comp` is then still the caller's).
long issue_io(IoCommand* c, rbd_image_t image, std::uint64_t off, std::uint64_t len, const iovec* v,
              int cnt, rbd_completion_t comp);

// steady_clock's microseconds: a command's start and end (monotonic µs), from one clock read.
inline std::uint64_t steady_us(std::chrono::steady_clock::time_point t) noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

// The IoEvent of c completed at `end_us` (monotonic µs) on LUN `lun`; not for a FLUSH.
IoEvent completed_event(const IoCommand& c, LunId lun, std::uint64_t end_us) noexcept;

// A COMPARE AND WRITE that librbd answers with a miscompare is read back before it is answered,
// to locate the first differing byte (miscompare_index). Called with each completion of c and
// its rc: true when that read was queued on the image c went to (its completion comes to `done`
// with c as its argument; c is not answered now); false when c is to be answered with `rc`
// (after the read-back, -EILSEQ whatever the read gave).
bool reading_back_miscompare(IoCommand* c, long& rc, rbd_callback_t done);
// The index, in c's compared bytes, of the first one that differs: from the read-back when it
// was made, else from librbd's offset (see io_command.cc for why it is not trusted alone).
std::uint64_t miscompare_index(const IoCommand& c, std::uint64_t object_size);

// Sizes a per-command scratch vector (keeping its capacity across commands); false when the
// memory is not there, so that no exception crosses into the C host.
template <typename T>
bool fit(std::vector<T>& v, std::size_t n) noexcept {
    try {
        v.resize(n);
        return true;
    } catch (const std::bad_alloc&) {
        return false;
    }
}

}  // namespace rbdtier
