// Unit tests of the librbd errno -> TCMU_STS_* mapping.
#include "handler/tcmu_status.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "common/log.h"
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

TEST(ScsiAnswer, WhatTheInitiatorGets) {
    EXPECT_STREQ(scsi_answer(TCMU_STS_BUSY).status_name, "BUSY");
    EXPECT_STREQ(scsi_answer(TCMU_STS_NO_RESOURCE).status_name, "TASK SET FULL");
    const ScsiAnswer rd = scsi_answer(TCMU_STS_RD_ERR);
    EXPECT_EQ(rd.status, 0x02);
    EXPECT_EQ(rd.sense_key, 0x3);
    EXPECT_EQ(rd.asc_ascq, 0x1100);
    EXPECT_EQ(scsi_answer(TCMU_STS_RANGE).asc_ascq, 0x2100);
    EXPECT_EQ(scsi_answer(TCMU_STS_FENCED).sense_key, 0x2);
    EXPECT_EQ(scsi_answer(TCMU_STS_MISCOMPARE).sense_key, 0xE);
}

TEST(ScsiAnswer, IsLoggedWithTheLunOpcodeAndSense) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    log_scsi_answer("rbd/disk", 0x28, TCMU_STS_RD_ERR, -EIO);
    log_scsi_answer("rbd/disk", 0x2a, TCMU_STS_RANGE);
    log_scsi_answer("rbd/disk", 0x89, TCMU_STS_MISCOMPARE);
    log_scsi_answer("rbd/disk", 0x2a, TCMU_STS_BUSY, -ESHUTDOWN);
    const auto error = capture.find(log::Level::kError, "rbd/disk", "opcode 0x28 (READ(10))");
    ASSERT_EQ(error.size(), 1u);
    EXPECT_EQ(error[0].text,
              "opcode 0x28 (READ(10)) answered CHECK CONDITION, sense key 0x3 MEDIUM ERROR, "
              "ASC/ASCQ 0x1100 unrecovered read error (librbd: Input/output error)");
    EXPECT_EQ(
        capture.find(log::Level::kWarning, "rbd/disk", "ASC/ASCQ 0x2100 LBA out of range").size(),
        1u);
    EXPECT_EQ(capture.find(log::Level::kDebug, "rbd/disk", "sense key 0xe MISCOMPARE").size(), 1u);
    const auto busy = capture.find(log::Level::kInfo, "rbd/disk", "answered BUSY");
    ASSERT_EQ(busy.size(), 1u);
    EXPECT_EQ(busy[0].text.find("sense"), std::string::npos);  // a status, no sense data
}

TEST(ScsiAnswer, ALunFailingEveryCommandIsRateLimited) {
    log::CaptureSink capture;
    log::Binding binding(capture, log::Level::kDebug);
    for (int i = 0; i < 1000; ++i) log_scsi_answer("rbd/flaky", 0x2a, TCMU_STS_WR_ERR, -EIO);
    log_scsi_answer("rbd/other", 0x2a, TCMU_STS_WR_ERR, -EIO);
    EXPECT_EQ(capture.find(log::Level::kError, "rbd/flaky", "WRITE(10)").size(),
              log::RateLimit::kDefaultBurst);
    EXPECT_EQ(capture.find(log::Level::kError, "rbd/other", "WRITE(10)").size(), 1u);
}

}  // namespace
}  // namespace rbdtier
