// The runner's iovec helpers as the harness provides them (runner_abi.cc): length, copies that
// consume, compare and seek across iovecs (no handler, no cluster).
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "handler/tcmu_abi.h"

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
