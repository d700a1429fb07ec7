// How a librbd result (0 or negative errno) becomes a TCMU_STS_* status.
//
// Pure mapping, shared by the completion path and the lock callouts, so the unit tests can
// pin it down. Follows upstream handler_rbd: -ETIMEDOUT -> TIMEOUT (the runner reports the
// timeout and the initiator retries), blocklisted (-ESHUTDOWN, -EROFS from a blocklisted
// client) -> BUSY on the I/O path after the lock is declared lost, FENCED on the lock path,
// -EILSEQ on COMPARE AND WRITE -> MISCOMPARE, -EINVAL -> INVALID CDB, -ERANGE -> LBA out of
// range, -ENOMEM/-EAGAIN -> NO RESOURCE (task set full), anything else -> MEDIUM ERROR
// (read/write) or HARDWARE ERROR (control path).
// scsi_answer() says what tcmu-runner 1.5.4 answers the initiator for a TCMU_STS_* (its
// tcmu_sts_to_scsi): the SAM status and, for CHECK CONDITION, the sense key and ASC/ASCQ.
#pragma once

#include <cstdint>
#include <string_view>

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

// What the initiator gets for a command completed with a TCMU_STS_* status.
struct ScsiAnswer {
    std::uint8_t status = 0;          // SAM status: 0x00 GOOD, 0x02 CHECK CONDITION, 0x08 BUSY, ...
    const char* status_name = "";     // "GOOD", "CHECK CONDITION", "BUSY", "TASK SET FULL"
    std::uint8_t sense_key = 0;       // CHECK CONDITION only
    const char* sense_key_name = "";  // "MEDIUM ERROR", ...
    std::uint16_t asc_ascq = 0;       // CHECK CONDITION only
    const char* meaning = "";         // what the ASC/ASCQ says, e.g. "unrecovered read error"
};
ScsiAnswer scsi_answer(int tcmu_status);

// A name for the SCSI opcodes the handler serves ("READ(10)"), "" for others.
const char* opcode_name(std::uint8_t opcode);

// Logs (common/log.h, rate-limited per LUN) that a command with `opcode` of `lun` was answered
// with `status` (not OK): the SAM status, the sense key and ASC/ASCQ, and librbd's error when
// rc < 0. MEDIUM and HARDWARE ERROR at error, ILLEGAL REQUEST at warning, MISCOMPARE (COMPARE
// AND WRITE's "not as expected") at debug, what the initiator retries (BUSY, TASK SET FULL,
// NOT READY, UNIT ATTENTION) at info.
void log_scsi_answer(std::string_view lun, std::uint8_t opcode, int status, long rc = 0);

}  // namespace rbdtier
