#include "sense.h"

#include <algorithm>
#include <cstdio>

#include "handler/tcmu_abi.h"
#include "scsi.h"

namespace rbdtier::harness {

void set_sense(std::span<uint8_t> sense, uint8_t key, uint16_t asc_ascq, bool clear) {
    if (clear) std::fill(sense.begin(), sense.end(), uint8_t{0});
    sense[0] |= 0x70;  // fixed format, current error
    sense[2] = key;
    sense[7] = 0x0a;  // additional sense length: 18 - 8
    sense[12] = static_cast<uint8_t>(asc_ascq >> 8);
    sense[13] = static_cast<uint8_t>(asc_ascq);
}

void set_sense_info(std::span<uint8_t> sense, uint32_t info) {
    std::fill_n(sense.begin(), kFixedSenseLen, uint8_t{0});
    put_be32(&sense[3], info);
    sense[0] |= 0x80;  // VALID
}

uint8_t apply_status(int sts, std::span<uint8_t> sense) {
    switch (sts) {
        case TCMU_STS_OK:
            return kGood;
        case TCMU_STS_NO_RESOURCE:
            return kTaskSetFull;
        case TCMU_STS_TIMEOUT:
        case TCMU_STS_BUSY:
            return kBusy;
        case TCMU_STS_PASSTHROUGH_ERR:
            break;
        case TCMU_STS_RANGE:
            set_sense(sense, kIllegalRequest, 0x2100);
            break;
        case TCMU_STS_HW_ERR:
            set_sense(sense, kHardwareError, 0x4400);
            break;
        case TCMU_STS_MISCOMPARE:
            set_sense(sense, kMiscompare, 0x1d00, false);
            break;
        case TCMU_STS_RD_ERR:
            set_sense(sense, kMediumError, 0x1100);
            break;
        case TCMU_STS_WR_ERR:
            set_sense(sense, kMediumError, 0x0c00);
            break;
        case TCMU_STS_INVALID_CDB:
            set_sense(sense, kIllegalRequest, 0x2400);
            break;
        case TCMU_STS_INVALID_PARAM_LIST:
            set_sense(sense, kIllegalRequest, 0x2600);
            break;
        case TCMU_STS_INVALID_PARAM_LIST_LEN:
            set_sense(sense, kIllegalRequest, 0x1a00);
            break;
        case TCMU_STS_NOTSUPP_SEG_DESC_TYPE:
            set_sense(sense, kIllegalRequest, 0x2609);
            break;
        case TCMU_STS_NOTSUPP_TGT_DESC_TYPE:
            set_sense(sense, kIllegalRequest, 0x2607);
            break;
        case TCMU_STS_TOO_MANY_SEG_DESC:
            set_sense(sense, kIllegalRequest, 0x2608);
            break;
        case TCMU_STS_TOO_MANY_TGT_DESC:
            set_sense(sense, kIllegalRequest, 0x2606);
            break;
        case TCMU_STS_CP_TGT_DEV_NOTCONN:
            set_sense(sense, kCopyAborted, 0x0d02);
            break;
        case TCMU_STS_INVALID_CP_TGT_DEV_TYPE:
            set_sense(sense, kCopyAborted, 0x0d03);
            break;
        case TCMU_STS_CAPACITY_CHANGED:
            set_sense(sense, kUnitAttention, 0x2a09);
            break;
        case TCMU_STS_TRANSITION:
            set_sense(sense, kNotReady, 0x040a);
            break;
        case TCMU_STS_IMPL_TRANSITION_ERR:
            set_sense(sense, kUnitAttention, 0x2a07);
            break;
        case TCMU_STS_EXPL_TRANSITION_ERR:
            set_sense(sense, kHardwareError, 0x670a);
            break;
        case TCMU_STS_FENCED:
            set_sense(sense, kNotReady, 0x040b);
            break;
        case TCMU_STS_WR_ERR_INCOMPAT_FRMT:
            set_sense(sense, kIllegalRequest, 0x3005);
            break;
        case TCMU_STS_NOTSUPP_SAVE_PARAMS:
            set_sense(sense, kIllegalRequest, 0x3900);
            break;
        case TCMU_STS_FRMT_IN_PROGRESS:
            set_sense(sense, kNotReady, 0x0404, false);
            break;
        case TCMU_STS_NOT_HANDLED:
        case TCMU_STS_INVALID_CMD:
            set_sense(sense, kIllegalRequest, 0x2000);
            break;
        default:
            // Unknown status: the kernel turns this into a LUN communication failure.
            break;
    }
    return kCheckCondition;
}

const char* status_name(int sts) {
    switch (sts) {
#define RBDTIER_STS(n) \
    case n:            \
        return #n;
        RBDTIER_STS(TCMU_STS_ASYNC_HANDLED)
        RBDTIER_STS(TCMU_STS_NOT_HANDLED)
        RBDTIER_STS(TCMU_STS_OK)
        RBDTIER_STS(TCMU_STS_NO_RESOURCE)
        RBDTIER_STS(TCMU_STS_PASSTHROUGH_ERR)
        RBDTIER_STS(TCMU_STS_BUSY)
        RBDTIER_STS(TCMU_STS_WR_ERR)
        RBDTIER_STS(TCMU_STS_RD_ERR)
        RBDTIER_STS(TCMU_STS_MISCOMPARE)
        RBDTIER_STS(TCMU_STS_INVALID_CMD)
        RBDTIER_STS(TCMU_STS_INVALID_CDB)
        RBDTIER_STS(TCMU_STS_INVALID_PARAM_LIST)
        RBDTIER_STS(TCMU_STS_INVALID_PARAM_LIST_LEN)
        RBDTIER_STS(TCMU_STS_TIMEOUT)
        RBDTIER_STS(TCMU_STS_FENCED)
        RBDTIER_STS(TCMU_STS_HW_ERR)
        RBDTIER_STS(TCMU_STS_RANGE)
        RBDTIER_STS(TCMU_STS_FRMT_IN_PROGRESS)
        RBDTIER_STS(TCMU_STS_CAPACITY_CHANGED)
        RBDTIER_STS(TCMU_STS_NOTSUPP_SAVE_PARAMS)
        RBDTIER_STS(TCMU_STS_WR_ERR_INCOMPAT_FRMT)
        RBDTIER_STS(TCMU_STS_TRANSITION)
        RBDTIER_STS(TCMU_STS_IMPL_TRANSITION_ERR)
        RBDTIER_STS(TCMU_STS_EXPL_TRANSITION_ERR)
        RBDTIER_STS(TCMU_STS_NO_LOCK_HOLDERS)
#undef RBDTIER_STS
        default:
            return "TCMU_STS_<other>";
    }
}

uint32_t SenseView::info() const {
    return get_be32(&s[3]);
}

std::string SenseView::describe() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "sense key 0x%x asc/ascq 0x%02x/0x%02x%s", key(), asc(), ascq(),
                  info_valid() ? " info " : "");
    std::string out = buf;
    if (info_valid()) out += std::to_string(info());
    return out;
}

}  // namespace rbdtier::harness
