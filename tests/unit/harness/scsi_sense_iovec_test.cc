// Unit tests of the harness' CDB codec, UNMAP parameter list parsing, sense building and
// the runner's iovec helpers (no handler, no cluster).
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "handler/tcmu_abi.h"
#include "tests/harness/scsi.h"
#include "tests/harness/sense.h"

using namespace rbdtier::harness;

TEST(Cdb, Read10FieldsBigEndian) {
    Cdb c = make_read10(0x01020304, 0x0506);
    EXPECT_EQ(c.len, 10u);
    EXPECT_EQ(c.bytes[0], 0x28);
    EXPECT_EQ(c.bytes[2], 0x01);
    EXPECT_EQ(c.bytes[5], 0x04);
    EXPECT_EQ(c.bytes[7], 0x05);
    EXPECT_EQ(c.bytes[8], 0x06);
    EXPECT_EQ(cdb_length(c.data()), 10);
    EXPECT_EQ(cdb_lba(c.data()), 0x01020304u);
    EXPECT_EQ(cdb_xfer_length(c.data()), 0x0506u);
}

TEST(Cdb, Write16FieldsBigEndian) {
    Cdb c = make_write16(0x0102030405060708ull, 0x0a0b0c0d);
    EXPECT_EQ(c.len, 16u);
    EXPECT_EQ(c.bytes[0], 0x8a);
    EXPECT_EQ(c.bytes[2], 0x01);
    EXPECT_EQ(c.bytes[9], 0x08);
    EXPECT_EQ(c.bytes[10], 0x0a);
    EXPECT_EQ(c.bytes[13], 0x0d);
    EXPECT_EQ(cdb_length(c.data()), 16);
    EXPECT_EQ(cdb_lba(c.data()), 0x0102030405060708ull);
    EXPECT_EQ(cdb_xfer_length(c.data()), 0x0a0b0c0du);
}

TEST(Cdb, Read16AndWrite10RoundTripManyValues) {
    for (uint64_t lba : {0ull, 1ull, 0xffffffffull, 0x1234567890ull, ~0ull}) {
        for (uint32_t n : {0u, 1u, 8u, 0xffffu, 0xffffffffu}) {
            Cdb r = make_read16(lba, n);
            EXPECT_EQ(cdb_lba(r.data()), lba);
            EXPECT_EQ(cdb_xfer_length(r.data()), n);
            Cdb w = make_write10(static_cast<uint32_t>(lba), static_cast<uint16_t>(n));
            EXPECT_EQ(cdb_lba(w.data()), static_cast<uint32_t>(lba));
            EXPECT_EQ(cdb_xfer_length(w.data()), static_cast<uint16_t>(n));
        }
    }
}

TEST(Cdb, SixAndTwelveByteDecoding) {
    uint8_t r6[6] = {0x08, 0x1f | 0xe0, 0xab, 0xcd, 0x10, 0};
    EXPECT_EQ(cdb_length(r6), 6);
    EXPECT_EQ(cdb_lba(r6), 0x1fabcdu);  // only 5 bits of byte 1
    EXPECT_EQ(cdb_xfer_length(r6), 0x10u);
    uint8_t r12[12] = {0xa8, 0, 0, 0, 1, 0, 0, 0, 0, 9, 0, 0};
    EXPECT_EQ(cdb_length(r12), 12);
    EXPECT_EQ(cdb_lba(r12), 256u);
    EXPECT_EQ(cdb_xfer_length(r12), 9u);
    uint8_t vendor[6] = {0xc0};
    EXPECT_EQ(cdb_length(vendor), -1);
}

TEST(Cdb, WriteSameUnmapBitAndCaw) {
    EXPECT_EQ(make_write_same16(5, 9, true).bytes[1] & 0x08, 0x08);
    EXPECT_EQ(make_write_same16(5, 9, false).bytes[1] & 0x08, 0);
    Cdb caw = make_compare_and_write(77, 1);
    EXPECT_EQ(caw.bytes[0], 0x89);
    EXPECT_EQ(caw.bytes[13], 1);
    EXPECT_EQ(cdb_lba(caw.data()), 77u);
    Cdb u = make_unmap(24, true);
    EXPECT_EQ(u.bytes[1] & 1, 1);
    EXPECT_EQ(cdb_xfer_length(u.data()), 24u);
}

TEST(UnmapParams, RoundTrip) {
    std::vector<LbaRange> in = {{0, 8}, {0x1122334455ull, 0xabcdef}, {77, 0}};
    auto p = make_unmap_param_list(in);
    ASSERT_EQ(p.size(), 8u + 48u);
    EXPECT_EQ(get_be16(&p[0]), 54);
    EXPECT_EQ(get_be16(&p[2]), 48);
    UnmapParse r = parse_unmap_param_list(p.data(), p.size(), p.size());
    EXPECT_EQ(r.status, TCMU_STS_OK);
    EXPECT_EQ(r.ranges, in);
}

TEST(UnmapParams, ZeroLengthIsOkAndEmpty) {
    UnmapParse r = parse_unmap_param_list(nullptr, 0, 0);
    EXPECT_EQ(r.status, TCMU_STS_OK);
    EXPECT_TRUE(r.ranges.empty());
}

TEST(UnmapParams, ShorterThanHeaderIsParamListLenError) {
    uint8_t p[7] = {};
    EXPECT_EQ(parse_unmap_param_list(p, 7, 7).status, TCMU_STS_INVALID_PARAM_LIST_LEN);
    EXPECT_EQ(parse_unmap_param_list(p, 1, 1).status, TCMU_STS_INVALID_PARAM_LIST_LEN);
}

TEST(UnmapParams, ShortTransferIsParamListLenError) {
    auto p = make_unmap_param_list(std::vector<LbaRange>{{1, 1}});
    EXPECT_EQ(parse_unmap_param_list(p.data(), p.size() - 1, p.size()).status,
              TCMU_STS_INVALID_PARAM_LIST_LEN);
}

TEST(UnmapParams, TruncatedLastDescriptorIgnored) {
    auto p = make_unmap_param_list(std::vector<LbaRange>{{1, 2}, {3, 4}});
    // bddl says 2 descriptors but the list length cuts the second one short.
    UnmapParse r = parse_unmap_param_list(p.data(), p.size(), p.size() - 4);
    EXPECT_EQ(r.status, TCMU_STS_OK);
    ASSERT_EQ(r.ranges.size(), 1u);
    EXPECT_EQ(r.ranges[0], (LbaRange{1, 2}));
    // bddl not a multiple of 16: the incomplete descriptor is ignored.
    put_be16(&p[2], 16 + 15);
    r = parse_unmap_param_list(p.data(), p.size(), p.size());
    EXPECT_EQ(r.ranges.size(), 1u);
    // bddl of zero: no descriptors.
    put_be16(&p[2], 0);
    r = parse_unmap_param_list(p.data(), p.size(), p.size());
    EXPECT_EQ(r.status, TCMU_STS_OK);
    EXPECT_TRUE(r.ranges.empty());
}

TEST(UnmapParams, MoreThanFourDescriptorsIsInvalidParamList) {
    std::vector<LbaRange> five(5, LbaRange{0, 1});
    auto p = make_unmap_param_list(five);
    EXPECT_EQ(parse_unmap_param_list(p.data(), p.size(), p.size()).status,
              TCMU_STS_INVALID_PARAM_LIST);
    std::vector<LbaRange> four(4, LbaRange{0, 1});
    auto q = make_unmap_param_list(four);
    EXPECT_EQ(parse_unmap_param_list(q.data(), q.size(), q.size()).ranges.size(), 4u);
}

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

namespace {
std::vector<uint8_t> seq(size_t n, uint8_t start = 1) {
    std::vector<uint8_t> v(n);
    std::iota(v.begin(), v.end(), start);
    return v;
}
}  // namespace

TEST(Iovec, LengthAndMemcpyConsume) {
    auto src = seq(10);
    std::vector<uint8_t> a(3), b(0), c(5);
    iovec iov[3] = {{a.data(), a.size()}, {b.data(), 0}, {c.data(), c.size()}};
    EXPECT_EQ(tcmu_iovec_length(iov, 3), 8u);
    EXPECT_EQ(tcmu_memcpy_into_iovec(iov, 3, src.data(), src.size()), 8u);  // truncates
    EXPECT_EQ(a, (std::vector<uint8_t>{1, 2, 3}));
    EXPECT_EQ(c, (std::vector<uint8_t>{4, 5, 6, 7, 8}));
    EXPECT_EQ(tcmu_iovec_length(iov, 3), 0u);  // consumed
    EXPECT_EQ(iov[0].iov_base, a.data() + 3);

    iovec again[2] = {{a.data(), a.size()}, {c.data(), c.size()}};
    std::vector<uint8_t> out(6, 0);
    EXPECT_EQ(tcmu_memcpy_from_iovec(out.data(), out.size(), again, 2), 6u);
    EXPECT_EQ(out, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(again[1].iov_len, 2u);
}

TEST(Iovec, CompareFindsFirstDifferenceAcrossIovecs) {
    auto mem = seq(12);
    auto x = seq(5), y = seq(7, 6);
    iovec iov[2] = {{x.data(), x.size()}, {y.data(), y.size()}};
    EXPECT_EQ(tcmu_iovec_compare(mem.data(), iov, 12), -1);
    y[3] = 0;  // byte 5 + 3
    EXPECT_EQ(tcmu_iovec_compare(mem.data(), iov, 12), 8);
    x[0] = 0;
    EXPECT_EQ(tcmu_iovec_compare(mem.data(), iov, 12), 0);
}

TEST(Iovec, SeekZeroAndCmdSeek) {
    auto x = seq(4), y = seq(4);
    iovec iov[2] = {{x.data(), 4}, {y.data(), 4}};
    EXPECT_EQ(tcmu_iovec_seek(iov, 6), 1u);
    EXPECT_EQ(iov[0].iov_len, 0u);
    EXPECT_EQ(iov[1].iov_base, y.data() + 2);
    EXPECT_EQ(iov[1].iov_len, 2u);

    iovec z[2] = {{x.data(), 4}, {y.data(), 4}};
    EXPECT_FALSE(tcmu_iovec_zeroed(z, 2));
    tcmu_iovec_zero(z, 2);
    EXPECT_TRUE(tcmu_iovec_zeroed(z, 2));

    iovec w[2] = {{x.data(), 4}, {y.data(), 4}};
    tcmulib_cmd cmd{};
    cmd.iovec = w;
    cmd.iov_cnt = 2;
    tcmu_cmd_seek(&cmd, 4);  // exactly the first iovec
    EXPECT_EQ(cmd.iov_cnt, 1u);
    EXPECT_EQ(cmd.iovec, &w[1]);
    EXPECT_EQ(tcmu_iovec_length(cmd.iovec, cmd.iov_cnt), 4u);
}
