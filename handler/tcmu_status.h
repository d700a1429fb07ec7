// How a librbd result (0 or negative errno) becomes a TCMU_STS_* status.
//
// Pure mapping, shared by the completion path and the lock callouts, so the unit tests can
// pin it down. Follows upstream handler_rbd: -ETIMEDOUT -> TIMEOUT (the runner reports the
// timeout and the initiator retries), blocklisted (-ESHUTDOWN, -EROFS from a blocklisted
// client) -> BUSY on the I/O path after the lock is declared lost, FENCED on the lock path,
// -EILSEQ on COMPARE AND WRITE -> MISCOMPARE, -EINVAL -> INVALID CDB, -ERANGE -> LBA out of
// range, -ENOMEM/-EAGAIN -> NO RESOURCE (task set full), anything else -> MEDIUM ERROR
// (read/write) or HARDWARE ERROR (control path).
#pragma once

#include <cstdint>

namespace rbdtier {

enum class IoKind : std::uint8_t { kRead, kWrite, kFlush, kUnmap, kWriteSame, kCompareAndWrite };

// What the I/O path must do besides returning the status.
enum class IoFailure : std::uint8_t { kNone, kTimedOut, kFenced };

struct IoStatus {
    int tcmu_status = 0;                   // TCMU_STS_*
    IoFailure failure = IoFailure::kNone;  // notify the runner (cmd timed out / lock lost)
};

// rc: librbd aio return value (>= 0 is success).
IoStatus io_status_from_rbd(IoKind kind, long rc);

// Lock and control callouts (lock, unlock, get_lock_tag): TCMU_STS_*.
int control_status_from_rbd(int rc);

}  // namespace rbdtier
