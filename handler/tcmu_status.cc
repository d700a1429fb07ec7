#include "handler/tcmu_status.h"

#include <cerrno>
#include <system_error>

#include "common/log.h"
#include "handler/tcmu_abi.h"

namespace rbdtier {

IoStatus io_status_from_rbd(IoKind kind, long rc) {
    if (rc >= 0) return {TCMU_STS_OK, IoFailure::kNone};
    switch (-rc) {
        case ETIMEDOUT:
            return {TCMU_STS_TIMEOUT, IoFailure::kTimedOut};
        case ESHUTDOWN:  // == EBLOCKLISTED in Ceph
        case EROFS:
            return {TCMU_STS_BUSY, IoFailure::kFenced};
        case EILSEQ:
            if (kind == IoKind::kCompareAndWrite) return {TCMU_STS_MISCOMPARE, IoFailure::kNone};
            break;
        case EINVAL:
            return {TCMU_STS_INVALID_CDB, IoFailure::kNone};
        case ERANGE:
            return {TCMU_STS_RANGE, IoFailure::kNone};
        case ENOMEM:
        case EAGAIN:
            return {TCMU_STS_NO_RESOURCE, IoFailure::kNone};
        default:
            break;
    }
    return {kind == IoKind::kRead ? TCMU_STS_RD_ERR : TCMU_STS_WR_ERR, IoFailure::kNone};
}

int control_status_from_rbd(int rc) {
    if (rc >= 0) return TCMU_STS_OK;
    switch (-rc) {
        case ESHUTDOWN:
            return TCMU_STS_FENCED;
        case ENOENT:
            return TCMU_STS_NO_LOCK_HOLDERS;
        case ETIMEDOUT:
            return TCMU_STS_TIMEOUT;
        case ENOMEM:
            return TCMU_STS_NO_RESOURCE;
        default:
            return TCMU_STS_HW_ERR;
    }
}

namespace {

ScsiAnswer check_condition(std::uint8_t key, const char* key_name, std::uint16_t asc_ascq,
                           const char* meaning) {
    return {0x02, "CHECK CONDITION", key, key_name, asc_ascq, meaning};
}
ScsiAnswer illegal_request(std::uint16_t asc_ascq, const char* meaning) {
    return check_condition(0x5, "ILLEGAL REQUEST", asc_ascq, meaning);
}
ScsiAnswer not_ready(std::uint16_t asc_ascq, const char* meaning) {
    return check_condition(0x2, "NOT READY", asc_ascq, meaning);
}

}  // namespace

ScsiAnswer scsi_answer(int tcmu_status) {
    switch (tcmu_status) {
        case TCMU_STS_OK:
        case TCMU_STS_ASYNC_HANDLED:
            return {0x00, "GOOD"};
        case TCMU_STS_NO_RESOURCE:
            return {0x28, "TASK SET FULL"};
        case TCMU_STS_BUSY:
        case TCMU_STS_TIMEOUT:
            return {0x08, "BUSY"};
        case TCMU_STS_WR_ERR:
            return check_condition(0x3, "MEDIUM ERROR", 0x0C00, "write error");
        case TCMU_STS_RD_ERR:
            return check_condition(0x3, "MEDIUM ERROR", 0x1100, "unrecovered read error");
        case TCMU_STS_MISCOMPARE:
            return check_condition(0xE, "MISCOMPARE", 0x1D00, "miscompare during verify");
        case TCMU_STS_NOT_HANDLED:
        case TCMU_STS_INVALID_CMD:
            return illegal_request(0x2000, "invalid command operation code");
        case TCMU_STS_INVALID_CDB:
            return illegal_request(0x2400, "invalid field in CDB");
        case TCMU_STS_INVALID_PARAM_LIST:
            return illegal_request(0x2600, "invalid field in parameter list");
        case TCMU_STS_INVALID_PARAM_LIST_LEN:
            return illegal_request(0x1A00, "parameter list length error");
        case TCMU_STS_RANGE:
            return illegal_request(0x2100, "LBA out of range");
        case TCMU_STS_NOTSUPP_SAVE_PARAMS:
            return illegal_request(0x3900, "saving parameters not supported");
        case TCMU_STS_WR_ERR_INCOMPAT_FRMT:
            return illegal_request(0x3005, "cannot write, incompatible format");
        case TCMU_STS_FENCED:
            return not_ready(0x040B, "target port in standby state");
        case TCMU_STS_TRANSITION:
            return not_ready(0x040A, "asymmetric access state transition");
        case TCMU_STS_FRMT_IN_PROGRESS:
            return not_ready(0x0404, "format in progress");
        case TCMU_STS_CAPACITY_CHANGED:
            return check_condition(0x6, "UNIT ATTENTION", 0x2A09, "capacity data has changed");
        case TCMU_STS_IMPL_TRANSITION_ERR:
            return check_condition(0x6, "UNIT ATTENTION", 0x2A07,
                                   "implicit asymmetric access state transition failed");
        case TCMU_STS_EXPL_TRANSITION_ERR:
            return check_condition(0x4, "HARDWARE ERROR", 0x670A,
                                   "set target port groups command failed");
        default:
            return check_condition(0x4, "HARDWARE ERROR", 0x4400, "internal target failure");
    }
}

const char* opcode_name(std::uint8_t opcode) {
    switch (opcode) {
        case 0x08:
            return "READ(6)";
        case 0x0A:
            return "WRITE(6)";
        case 0x28:
            return "READ(10)";
        case 0x2A:
            return "WRITE(10)";
        case 0x35:
            return "SYNCHRONIZE CACHE(10)";
        case 0x41:
            return "WRITE SAME(10)";
        case 0x42:
            return "UNMAP";
        case 0x88:
            return "READ(16)";
        case 0x89:
            return "COMPARE AND WRITE";
        case 0x8A:
            return "WRITE(16)";
        case 0x91:
            return "SYNCHRONIZE CACHE(16)";
        case 0x93:
            return "WRITE SAME(16)";
        case 0xA8:
            return "READ(12)";
        case 0xAA:
            return "WRITE(12)";
        default:
            return "";
    }
}

void log_scsi_answer(std::string_view lun, std::uint8_t opcode, int status, long rc) {
    const ScsiAnswer a = scsi_answer(status);
    const auto say = [&](log::Emitter& line) {
        line << "opcode " << log::Hex{opcode};
        if (const char* name = opcode_name(opcode); *name != '\0') line << " (" << name << ")";
        line << " answered " << a.status_name;
        if (a.status == 0x02) {
            line << ", sense key " << log::Hex{a.sense_key, 1} << " " << a.sense_key_name
                 << ", ASC/ASCQ " << log::Hex{a.asc_ascq, 4} << " " << a.meaning;
        }
        if (rc < 0 && status != TCMU_STS_MISCOMPARE) {  // librbd's -EILSEQ says no more
            line << " (librbd: " << std::generic_category().message(static_cast<int>(-rc)) << ")";
        }
    };
    switch (a.sense_key) {
        case 0x3:  // MEDIUM ERROR
        case 0x4:  // HARDWARE ERROR
            RBDTIER_LOG_LIMITED(log::Level::kError, lun, say);
            break;
        case 0xE:  // MISCOMPARE
            RBDTIER_LOG_LIMITED(log::Level::kDebug, lun, say);
            break;
        case 0x5:  // ILLEGAL REQUEST: the initiator asked for what cannot be
            RBDTIER_LOG_LIMITED(log::Level::kWarning, lun, say);
            break;
        default:  // the initiator retries
            RBDTIER_LOG_LIMITED(log::Level::kInfo, lun, say);
            break;
    }
}

}  // namespace rbdtier
