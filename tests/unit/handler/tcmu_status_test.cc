// Unit tests of the librbd errno -> TCMU_STS_* mapping.
#include "handler/tcmu_status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "handler/tcmu_abi.h"

namespace rbdtier {
namespace {

TEST(TcmuStatus, SuccessIsOk) {
    for (IoKind k : {IoKind::kRead, IoKind::kWrite, IoKind::kFlush, IoKind::kUnmap,
                     IoKind::kWriteSame, IoKind::kCompareAndWrite}) {
        EXPECT_EQ(io_status_from_rbd(k, 0).tcmu_status, TCMU_STS_OK);
        EXPECT_EQ(io_status_from_rbd(k, 4096).tcmu_status, TCMU_STS_OK);  // bytes read
        EXPECT_EQ(io_status_from_rbd(k, 0).failure, IoFailure::kNone);
    }
}

TEST(TcmuStatus, TimeoutAndFencing) {
    IoStatus t = io_status_from_rbd(IoKind::kWrite, -ETIMEDOUT);
    EXPECT_EQ(t.tcmu_status, TCMU_STS_TIMEOUT);
    EXPECT_EQ(t.failure, IoFailure::kTimedOut);
    IoStatus f = io_status_from_rbd(IoKind::kRead, -ESHUTDOWN);
    EXPECT_EQ(f.tcmu_status, TCMU_STS_BUSY);
    EXPECT_EQ(f.failure, IoFailure::kFenced);
    EXPECT_EQ(io_status_from_rbd(IoKind::kWrite, -EROFS).failure, IoFailure::kFenced);
}

TEST(TcmuStatus, MiscompareOnlyForCompareAndWrite) {
    EXPECT_EQ(io_status_from_rbd(IoKind::kCompareAndWrite, -EILSEQ).tcmu_status,
              TCMU_STS_MISCOMPARE);
    EXPECT_EQ(io_status_from_rbd(IoKind::kWrite, -EILSEQ).tcmu_status, TCMU_STS_WR_ERR);
    EXPECT_EQ(io_status_from_rbd(IoKind::kRead, -EILSEQ).tcmu_status, TCMU_STS_RD_ERR);
}

TEST(TcmuStatus, OtherErrors) {
    EXPECT_EQ(io_status_from_rbd(IoKind::kRead, -EINVAL).tcmu_status, TCMU_STS_INVALID_CDB);
    EXPECT_EQ(io_status_from_rbd(IoKind::kWrite, -ERANGE).tcmu_status, TCMU_STS_RANGE);
    EXPECT_EQ(io_status_from_rbd(IoKind::kWrite, -ENOMEM).tcmu_status, TCMU_STS_NO_RESOURCE);
    EXPECT_EQ(io_status_from_rbd(IoKind::kRead, -EAGAIN).tcmu_status, TCMU_STS_NO_RESOURCE);
    EXPECT_EQ(io_status_from_rbd(IoKind::kRead, -EIO).tcmu_status, TCMU_STS_RD_ERR);
    EXPECT_EQ(io_status_from_rbd(IoKind::kWrite, -EIO).tcmu_status, TCMU_STS_WR_ERR);
    EXPECT_EQ(io_status_from_rbd(IoKind::kUnmap, -ENOENT).tcmu_status, TCMU_STS_WR_ERR);
    EXPECT_EQ(io_status_from_rbd(IoKind::kFlush, -EIO).tcmu_status, TCMU_STS_WR_ERR);
}

TEST(TcmuStatus, ControlPath) {
    EXPECT_EQ(control_status_from_rbd(0), TCMU_STS_OK);
    EXPECT_EQ(control_status_from_rbd(-ESHUTDOWN), TCMU_STS_FENCED);
    EXPECT_EQ(control_status_from_rbd(-ENOENT), TCMU_STS_NO_LOCK_HOLDERS);
    EXPECT_EQ(control_status_from_rbd(-ETIMEDOUT), TCMU_STS_TIMEOUT);
    EXPECT_EQ(control_status_from_rbd(-ENOMEM), TCMU_STS_NO_RESOURCE);
    EXPECT_EQ(control_status_from_rbd(-EIO), TCMU_STS_HW_ERR);
}

}  // namespace
}  // namespace rbdtier
