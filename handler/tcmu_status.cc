#include "handler/tcmu_status.h"

#include <cerrno>

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

}  // namespace rbdtier
