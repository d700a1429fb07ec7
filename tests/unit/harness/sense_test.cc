// The harness' sense data: the status and sense each check condition carries, the handler's own
// sense passed through (no handler, no cluster).
#include "tests/harness/sense.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "handler/tcmu_abi.h"

using namespace rbdtier::harness;

TEST(Sense, RangeIsIllegalRequest2100) {
    uint8_t s[SENSE_BUFFERSIZE];
    std::memset(s, 0xee, sizeof s);
    EXPECT_EQ(apply_status(TCMU_STS_RANGE, s), kCheckCondition);
    SenseView v{std::span<const uint8_t>(s, kFixedSenseLen)};
    EXPECT_EQ(s[0], 0x70);
    EXPECT_EQ(v.key(), kIllegalRequest);
    EXPECT_EQ(v.asc(), 0x21);
    EXPECT_EQ(v.ascq(), 0x00);
    EXPECT_EQ(s[7], 0x0a);
    EXPECT_FALSE(v.info_valid());
    EXPECT_EQ(s[3], 0);  // cleared, not left over
}

TEST(Sense, MiscompareKeepsInformationField) {
    uint8_t s[SENSE_BUFFERSIZE] = {};
    tcmu_sense_set_info(s, 0x01020304);
    EXPECT_EQ(apply_status(TCMU_STS_MISCOMPARE, s), kCheckCondition);
    SenseView v{std::span<const uint8_t>(s, kFixedSenseLen)};
    EXPECT_EQ(v.response_code(), 0x70);
    EXPECT_TRUE(v.info_valid());
    EXPECT_EQ(v.info(), 0x01020304u);
    EXPECT_EQ(v.key(), kMiscompare);
    EXPECT_EQ(v.asc(), 0x1d);
}

TEST(Sense, StatusCodesWithoutSense) {
    uint8_t s[SENSE_BUFFERSIZE] = {};
    EXPECT_EQ(apply_status(TCMU_STS_OK, s), kGood);
    EXPECT_EQ(apply_status(TCMU_STS_BUSY, s), kBusy);
    EXPECT_EQ(apply_status(TCMU_STS_TIMEOUT, s), kBusy);
    EXPECT_EQ(apply_status(TCMU_STS_NO_RESOURCE, s), kTaskSetFull);
    EXPECT_EQ(std::accumulate(s, s + sizeof s, 0), 0);
}

TEST(Sense, TableOfCheckConditions) {
    struct Row {
        int sts;
        uint8_t key, asc, ascq;
    } rows[] = {
        {TCMU_STS_HW_ERR, kHardwareError, 0x44, 0},
        {TCMU_STS_RD_ERR, kMediumError, 0x11, 0},
        {TCMU_STS_WR_ERR, kMediumError, 0x0c, 0},
        {TCMU_STS_INVALID_CDB, kIllegalRequest, 0x24, 0},
        {TCMU_STS_INVALID_PARAM_LIST, kIllegalRequest, 0x26, 0},
        {TCMU_STS_INVALID_PARAM_LIST_LEN, kIllegalRequest, 0x1a, 0},
        {TCMU_STS_NOT_HANDLED, kIllegalRequest, 0x20, 0},
        {TCMU_STS_INVALID_CMD, kIllegalRequest, 0x20, 0},
        {TCMU_STS_FENCED, kNotReady, 0x04, 0x0b},
        {TCMU_STS_TRANSITION, kNotReady, 0x04, 0x0a},
        {TCMU_STS_CAPACITY_CHANGED, kUnitAttention, 0x2a, 0x09},
    };
    for (const Row& r : rows) {
        uint8_t s[SENSE_BUFFERSIZE];
        std::memset(s, 0xff, sizeof s);
        EXPECT_EQ(apply_status(r.sts, s), kCheckCondition) << status_name(r.sts);
        SenseView v{std::span<const uint8_t>(s, kFixedSenseLen)};
        EXPECT_EQ(v.key(), r.key) << status_name(r.sts);
        EXPECT_EQ(v.asc(), r.asc) << status_name(r.sts);
        EXPECT_EQ(v.ascq(), r.ascq) << status_name(r.sts);
    }
}

TEST(Sense, PassthroughKeepsHandlerSense) {
    uint8_t s[SENSE_BUFFERSIZE] = {};
    EXPECT_EQ(tcmu_sense_set_data(s, kMediumError, 0x1102), TCMU_STS_PASSTHROUGH_ERR);
    EXPECT_EQ(apply_status(TCMU_STS_PASSTHROUGH_ERR, s), kCheckCondition);
    EXPECT_EQ(s[2], kMediumError);
    EXPECT_EQ(s[12], 0x11);
    EXPECT_EQ(s[13], 0x02);
}
