// The harness' CDB codec and UNMAP parameter lists: fields built and read back as SBC-4 lays
// them out, and the parse's refusals (no handler, no cluster).
#include "tests/harness/scsi.h"

#include <gtest/gtest.h>

#include <vector>

#include "handler/tcmu_abi.h"

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
