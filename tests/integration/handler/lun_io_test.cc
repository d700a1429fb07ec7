// The Lun I/O path on the local cluster, driven directly with a fake tcmu host: data
// integrity (through the Lun and through librbd), iovec shapes, range checks, WRITE SAME,
// UNMAP, COMPARE AND WRITE miscompare offset, exclusive-lock failover,
// resize, and refusals with their reasons.
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <thread>

#include "lun_fixture.h"

namespace rbdtier::testing {
namespace {

constexpr std::uint64_t kSize = 64ull << 20;
constexpr std::uint32_t kBlock = 512;

class LunIoTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
        image_ = std::make_unique<ScratchImage>("nvme-a", kSize);
        ASSERT_TRUE(image_->ok());
        auto lun = build_lun(image_->config(), LunGeometry{kSize, kBlock}, fake_host());
        ASSERT_TRUE(lun.is_ok()) << lun.status().message();
        lun_ = std::move(lun).value();
    }
    void TearDown() override {
        lun_.reset();
        image_.reset();
    }

    int write(std::uint64_t off, const std::vector<char>& data) {
        return write_lun(*lun_, off, data);
    }
    int read(std::uint64_t off, std::vector<char>& data) { return read_lun(*lun_, off, data); }
    std::vector<char> read_librbd(std::uint64_t off, std::size_t len) {
        auto image = ceph::Image::open(image_->io(), image_->name());
        EXPECT_TRUE(image.is_ok()) << image.status().message();
        std::vector<char> out(len);
        if (image) {
            EXPECT_EQ(rbd_read(image->handle(), off, len, out.data()), static_cast<ssize_t>(len));
        }
        return out;
    }

    std::unique_ptr<ScratchImage> image_;
    std::unique_ptr<Lun> lun_;
};

TEST_F(LunIoTest, WriteReadBackExactThroughLunAndLibrbd) {
    struct Case {
        std::uint64_t off;
        std::size_t len;
    };
    // Aligned, crossing a 4 MiB object boundary, large, at the very end of the LUN.
    for (Case k : {Case{0, 4096}, Case{(4ull << 20) - 8192, 16384}, Case{10ull << 20, 1 << 20},
                   Case{kSize - 4096, 4096}}) {
        std::vector<char> data = pattern(k.len, static_cast<std::uint32_t>(k.off));
        ASSERT_EQ(write(k.off, data), TCMU_STS_OK) << k.off;
        std::vector<char> back(k.len);
        ASSERT_EQ(read(k.off, back), TCMU_STS_OK) << k.off;
        EXPECT_EQ(back, data) << "through the LUN at " << k.off;
        EXPECT_EQ(read_librbd(k.off, k.len), data) << "through librbd at " << k.off;
    }
}

// A transfer length of zero transfers nothing and is GOOD, without asking librbd for a
// zero-length read into no buffer (its assertion would abort the whole process).
TEST_F(LunIoTest, ZeroLengthCommandsCompleteGood) {
    expect_zero_length_commands_complete(*lun_, kSize, kBlock);
    std::vector<char> back(4096);
    EXPECT_EQ(read(0, back), TCMU_STS_OK) << "the LUN still serves";
}

TEST_F(LunIoTest, ManySmallIovecsAndTrimmedIovec) {
    const std::size_t len = 64 * 1024;
    std::vector<char> data = pattern(len, 7);
    // 128 segments of 512 bytes, written out of one buffer.
    std::vector<iovec> iov;
    for (std::size_t i = 0; i < len; i += kBlock) iov.push_back({data.data() + i, kBlock});
    TestCommand w;
    ASSERT_EQ(run(
                  [&](tcmur_cmd* c) {
                      return lun_->write(nullptr, c, iov.data(), iov.size(), len, 8192);
                  },
                  w),
              TCMU_STS_OK);
    // Read into 3 uneven segments whose total exceeds the command: exactly len bytes land.
    std::vector<char> back(len + 1000, 'x');
    std::vector<iovec> riov{{back.data(), 1000},
                            {back.data() + 1000, 30000},
                            {back.data() + 31000, len + 1000 - 31000}};
    TestCommand r;
    ASSERT_EQ(run(
                  [&](tcmur_cmd* c) {
                      return lun_->read(nullptr, c, riov.data(), riov.size(), len, 8192);
                  },
                  r),
              TCMU_STS_OK);
    EXPECT_EQ(std::vector<char>(back.begin(), back.begin() + len), data);
    EXPECT_EQ(std::string(back.begin() + len, back.end()), std::string(1000, 'x'))
        << "bytes past the command's length must not be touched";
    EXPECT_EQ(read_librbd(8192, len), data);
}

TEST_F(LunIoTest, IovecShorterThanCommandIsRefused) {
    std::vector<char> buf(4096);
    iovec v{buf.data(), 2048};
    TestCommand c;
    EXPECT_EQ(lun_->write(nullptr, c.cmd(), &v, 1, 4096, 0), TCMU_STS_INVALID_CDB);
    EXPECT_EQ(lun_->read(nullptr, c.cmd(), &v, 1, 4096, 0), TCMU_STS_INVALID_CDB);
    EXPECT_EQ(c.completions(), 0) << "a refused command is not completed";
    EXPECT_EQ(lun_->in_flight(), 0u);
}

TEST_F(LunIoTest, MoreSegmentsThanIovMaxGoThroughBounce) {
    const std::size_t segments = IOV_MAX + 24;
    const std::size_t len = segments * kBlock;
    std::vector<char> data = pattern(len, 11);
    std::vector<iovec> iov;
    for (std::size_t i = 0; i < segments; ++i) iov.push_back({data.data() + i * kBlock, kBlock});
    TestCommand w;
    ASSERT_EQ(
        run([&](tcmur_cmd* c) { return lun_->write(nullptr, c, iov.data(), iov.size(), len, 0); },
            w),
        TCMU_STS_OK);
    std::vector<char> back(len);
    std::vector<iovec> riov;
    for (std::size_t i = 0; i < segments; ++i) riov.push_back({back.data() + i * kBlock, kBlock});
    TestCommand r;
    ASSERT_EQ(
        run([&](tcmur_cmd* c) { return lun_->read(nullptr, c, riov.data(), riov.size(), len, 0); },
            r),
        TCMU_STS_OK);
    EXPECT_EQ(back, data);
}

TEST_F(LunIoTest, OutOfRangeIsRefusedWithRange) {
    std::vector<char> buf(8192);
    iovec v{buf.data(), buf.size()};
    TestCommand c;
    EXPECT_EQ(lun_->read(nullptr, c.cmd(), &v, 1, 8192, kSize - 4096), TCMU_STS_RANGE);
    EXPECT_EQ(lun_->write(nullptr, c.cmd(), &v, 1, 8192, kSize), TCMU_STS_RANGE);
    EXPECT_EQ(lun_->unmap(nullptr, c.cmd(), kSize - 512, 1024), TCMU_STS_RANGE);
    EXPECT_EQ(lun_->write_same(nullptr, c.cmd(), ~0ull - 100, 512, &v, 1), TCMU_STS_RANGE);
    EXPECT_EQ(c.completions(), 0);
}

TEST_F(LunIoTest, UnmapReadsZeroesAndFlushCompletes) {
    std::vector<char> data = pattern(8 << 20, 3);
    ASSERT_EQ(write(0, data), TCMU_STS_OK);
    TestCommand u;
    ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->unmap(nullptr, c, 0, 4 << 20); }, u),
              TCMU_STS_OK);
    TestCommand f;
    ASSERT_EQ(run([&](tcmur_cmd* c) { return lun_->flush(nullptr, c); }, f), TCMU_STS_OK);
    std::vector<char> back(8 << 20);
    ASSERT_EQ(read(0, back), TCMU_STS_OK);
    EXPECT_EQ(std::vector<char>(back.begin(), back.begin() + (4 << 20)),
              std::vector<char>(4 << 20, 0));
    EXPECT_EQ(std::vector<char>(back.begin() + (4 << 20), back.end()),
              std::vector<char>(data.begin() + (4 << 20), data.end()));
}

TEST_F(LunIoTest, WriteSameRepeatsThePattern) {
    std::vector<char> block = pattern(kBlock, 5);
    // Pattern split over two iovecs: exercises the staging copy.
    iovec v[2] = {{block.data(), 100}, {block.data() + 100, kBlock - 100}};
    TestCommand c;
    ASSERT_EQ(
        run([&](tcmur_cmd* cmd) { return lun_->write_same(nullptr, cmd, 4096, 64 * kBlock, v, 2); },
            c),
        TCMU_STS_OK);
    std::vector<char> back = read_librbd(4096, 64 * kBlock);
    for (std::size_t i = 0; i < 64; ++i) {
        ASSERT_EQ(std::memcmp(back.data() + i * kBlock, block.data(), kBlock), 0) << "block " << i;
    }
    TestCommand bad;
    EXPECT_EQ(lun_->write_same(nullptr, bad.cmd(), 0, 1000, v, 2), TCMU_STS_INVALID_CDB)
        << "range not a multiple of the pattern";
}

TEST_F(LunIoTest, CompareAndWriteMatchesAndReportsMiscompareOffset) {
    std::vector<char> old = pattern(kBlock, 9);
    ASSERT_EQ(write(1 << 20, old), TCMU_STS_OK);
    std::vector<char> neu = pattern(kBlock, 10);
    std::vector<char> both(old);
    both.insert(both.end(), neu.begin(), neu.end());
    iovec v{both.data(), both.size()};
    TestCommand ok;
    ASSERT_EQ(run(
                  [&](tcmur_cmd* c) {
                      return lun_->compare_and_write(nullptr, c, 1 << 20, kBlock, &v, 1);
                  },
                  ok),
              TCMU_STS_OK);
    EXPECT_EQ(read_librbd(1 << 20, kBlock), neu);

    // Compare against data differing first at byte 137: MISCOMPARE, INFORMATION = 137.
    std::vector<char> wrong(neu);
    wrong[137] ^= 0x5a;
    wrong[300] ^= 0x5a;
    std::vector<char> both2(wrong);
    both2.insert(both2.end(), old.begin(), old.end());
    iovec v2[2] = {{both2.data(), 700}, {both2.data() + 700, both2.size() - 700}};
    TestCommand mis;
    EXPECT_EQ(run(
                  [&](tcmur_cmd* c) {
                      return lun_->compare_and_write(nullptr, c, 1 << 20, kBlock, v2, 2);
                  },
                  mis),
              TCMU_STS_MISCOMPARE);
    EXPECT_EQ(mis.sense_info(), 137u);
    EXPECT_EQ(read_librbd(1 << 20, kBlock), neu) << "a miscompare must not write";

    // Elsewhere in an object (librbd reports these relative to the object start).
    for (std::uint64_t off : {std::uint64_t{kBlock}, std::uint64_t{(4u << 20) + 3 * kBlock}}) {
        ASSERT_EQ(write(off, old), TCMU_STS_OK);
        std::vector<char> cmp(old);
        cmp[401] ^= 1;
        std::vector<char> both3(cmp);
        both3.insert(both3.end(), neu.begin(), neu.end());
        iovec v3{both3.data(), both3.size()};
        TestCommand m;
        EXPECT_EQ(run(
                      [&](tcmur_cmd* c) {
                          return lun_->compare_and_write(nullptr, c, off, kBlock, &v3, 1);
                      },
                      m),
                  TCMU_STS_MISCOMPARE)
            << off;
        EXPECT_EQ(m.sense_info(), 401u) << off;
        EXPECT_EQ(read_librbd(off, kBlock), old) << off;
    }
}

TEST_F(LunIoTest, ManyInFlightBeyondTheFreeList) {
    // More commands in flight than preallocated contexts: the overflow goes to the heap.
    const std::size_t n = LunCommands::kMaxQueued + 64;
    std::vector<std::unique_ptr<TestCommand>> cmds;
    std::vector<std::vector<char>> bufs;
    std::vector<iovec> iovs(n);
    for (std::size_t i = 0; i < n; ++i) {
        cmds.push_back(std::make_unique<TestCommand>());
        bufs.push_back(pattern(4096, static_cast<std::uint32_t>(i)));
        iovs[i] = {bufs[i].data(), 4096};
    }
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(lun_->write(nullptr, cmds[i]->cmd(), &iovs[i], 1, 4096, i * 4096), TCMU_STS_OK);
    }
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(cmds[i]->wait(), TCMU_STS_OK) << i;
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(cmds[i]->completions(), 1) << "exactly once";
    // The count drops just after each completion is delivered.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (lun_->in_flight() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    EXPECT_EQ(lun_->in_flight(), 0u);
    std::vector<char> all = read_librbd(0, n * 4096);
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(std::memcmp(all.data() + i * 4096, bufs[i].data(), 4096), 0) << i;
    }
}

TEST_F(LunIoTest, ResizeGrowsImageAndRange) {
    std::vector<char> data = pattern(4096, 2);
    EXPECT_EQ(write(kSize, data), TCMU_STS_RANGE);
    ceph::Status st = lun_->resize(kSize + (4 << 20));
    ASSERT_TRUE(st.is_ok()) << st.message();
    EXPECT_EQ(lun_->size(), kSize + (4 << 20));
    auto size = lun_->image().size();
    ASSERT_TRUE(size.is_ok());
    EXPECT_EQ(*size, kSize + (4 << 20));
    EXPECT_EQ(write(kSize, data), TCMU_STS_OK);
    EXPECT_EQ(read_librbd(kSize, 4096), data);
}

TEST(LunOpen, RefusesWithAReason) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    const std::string conf = ";conf=" + ceph_conf();
    auto missing_pool = build_lun(*parse_lun_config("no-such-pool/x" + conf).config,
                                  LunGeometry{kSize, kBlock}, fake_host());
    ASSERT_FALSE(missing_pool.is_ok());
    EXPECT_EQ(missing_pool.status().message(), "open pool no-such-pool: No such file or directory");
    auto missing_image = build_lun(*parse_lun_config("hdd-a/no-such-image" + conf).config,
                                   LunGeometry{kSize, kBlock}, fake_host());
    ASSERT_FALSE(missing_image.is_ok());
    EXPECT_EQ(missing_image.status().message(),
              "open image hdd-a/no-such-image: No such file or directory");
    ScratchImage small("hdd-a", 1 << 20);
    ASSERT_TRUE(small.ok());
    auto too_small = build_lun(small.config(), LunGeometry{2 << 20, kBlock}, fake_host());
    ASSERT_FALSE(too_small.is_ok());
    EXPECT_EQ(too_small.status().message(),
              "image hdd-a/" + small.name() +
                  " has 1048576 bytes, fewer than the LUN's 2097152 (grow it with rbd resize): "
                  "Invalid argument");
    auto bad_conf = build_lun(*parse_lun_config("hdd-a/x;conf=/nonexistent/ceph.conf").config,
                              LunGeometry{kSize, kBlock}, fake_host());
    ASSERT_FALSE(bad_conf.is_ok());
    EXPECT_EQ(bad_conf.status().message(),
              "read ceph config /nonexistent/ceph.conf: No such file or directory");
}

TEST(LunLock, ImplicitFailoverBetweenTwoGateways) {
    if (ceph_conf().empty()) GTEST_SKIP() << "RBDTIER_CEPH_CONF not set";
    ScratchImage image("nvme-a", 8 << 20);
    ASSERT_TRUE(image.ok());
    auto a = build_lun(image.config(), LunGeometry{8 << 20, kBlock}, fake_host());
    auto b = build_lun(image.config(), LunGeometry{8 << 20, kBlock}, fake_host());
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    ASSERT_TRUE(b.is_ok()) << b.status().message();
    Lun& ga = **a;
    Lun& gb = **b;
    std::uint16_t tag = 0;
    EXPECT_EQ(ga.exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_UNLOCKED);
    EXPECT_EQ(ga.exclusive_lock().get_lock_tag(&tag), TCMU_STS_NO_LOCK_HOLDERS);

    ASSERT_EQ(ga.exclusive_lock().lock(1), TCMU_STS_OK);
    EXPECT_EQ(ga.exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_WRITE_LOCKED);
    EXPECT_EQ(gb.exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_UNLOCKED);
    ASSERT_EQ(gb.exclusive_lock().get_lock_tag(&tag), TCMU_STS_OK);
    EXPECT_EQ(tag, 1);
    EXPECT_EQ(ga.exclusive_lock().lock(1), TCMU_STS_OK) << "re-locking as owner is fine";

    std::vector<char> data = pattern(4096, 4);
    iovec v{data.data(), data.size()};
    TestCommand w1;
    ASSERT_EQ(run([&](tcmur_cmd* c) { return ga.write(nullptr, c, &v, 1, 4096, 0); }, w1),
              TCMU_STS_OK);

    // Gateway B takes over (path failover): A's lock is broken and A blocklisted.
    const int lost_before = host_counters().lock_lost.load();
    ASSERT_EQ(gb.exclusive_lock().lock(2), TCMU_STS_OK);
    EXPECT_EQ(gb.exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_WRITE_LOCKED);
    ASSERT_EQ(gb.exclusive_lock().get_lock_tag(&tag), TCMU_STS_OK);
    EXPECT_EQ(tag, 2);
    EXPECT_NE(ga.exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_WRITE_LOCKED);
    TestCommand w2;
    int st = run([&](tcmur_cmd* c) { return ga.write(nullptr, c, &v, 1, 4096, 0); }, w2);
    EXPECT_EQ(st, TCMU_STS_BUSY) << "the fenced gateway's writes must fail";
    EXPECT_GT(host_counters().lock_lost.load(), lost_before) << "and report the lock lost";

    TestCommand w3;
    EXPECT_EQ(run([&](tcmur_cmd* c) { return gb.write(nullptr, c, &v, 1, 4096, 0); }, w3),
              TCMU_STS_OK);
    EXPECT_EQ(gb.exclusive_lock().unlock(), TCMU_STS_OK);
    EXPECT_EQ(gb.exclusive_lock().get_lock_state(), TCMUR_DEV_LOCK_UNLOCKED);
    EXPECT_EQ(gb.exclusive_lock().unlock(), TCMU_STS_OK)
        << "unlocking when not the owner is a no-op";
    a->reset();
    b->reset();
    // Unblocklisting A is the cluster's business; the image is still removable.
}

}  // namespace
}  // namespace rbdtier::testing
