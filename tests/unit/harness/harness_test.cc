// The harness driving the in-memory test handler (memtest_handler.cc) in both variants:
// native writesame/caw with completions from a handler thread and nr_threads 0, and
// emulated writesame/caw with nr_threads 2 and completion inside the callout.
#include "tests/harness/harness.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/harness/memtest_handler.h"

using namespace rbdtier::harness;

namespace {

struct Variant {
    const char* so;
    bool native;  // handler has writesame/caw/flush
};

// Readable test names in CTest ("GetParam() = native").
void PrintTo(const Variant& v, std::ostream* os) {
    *os << (v.native ? "native" : "emulated");
}

memtest_stats stats_of(const char* so) {
    void* h = dlopen(so, RTLD_NOW | RTLD_NOLOAD);
    EXPECT_NE(h, nullptr);
    memtest_stats s{};
    if (!h) return s;
    auto fn = reinterpret_cast<void (*)(memtest_stats*)>(dlsym(h, "memtest_get_stats"));
    EXPECT_NE(fn, nullptr);
    if (fn) fn(&s);
    dlclose(h);
    return s;
}

std::vector<uint8_t> pattern(size_t n, unsigned seed) {
    std::vector<uint8_t> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
}

class HarnessMemtest : public ::testing::TestWithParam<Variant> {
protected:
    void SetUp() override {
        harness_ = std::make_unique<Harness>(GetParam().so);
        dev_ = harness_->open({"dev0", kSize, kBs, 128});
    }
    void TearDown() override {
        dev_.reset();
        harness_.reset();
    }
    static constexpr uint64_t kSize = 8ull << 20;
    static constexpr uint32_t kBs = 512;
    std::unique_ptr<Harness> harness_;
    std::unique_ptr<Device> dev_;
};

}  // namespace

TEST_P(HarnessMemtest, CheckConfigReasonIsReported) {
    auto why = harness_->check_config("");
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("memtest/<name>"), std::string::npos);
    EXPECT_THROW(harness_->open({"", kSize, kBs, 128}), std::runtime_error);
    EXPECT_FALSE(harness_->check_config("x").has_value());
}

TEST_P(HarnessMemtest, WriteReadSplitAboveMaxXfer) {
    auto data = pattern(200 * 1024 + kBs, 1);  // > 128 blocks: split into several commands
    const unsigned writes_before = stats_of(GetParam().so).writes;
    ASSERT_TRUE(dev_->write(33, data.data(), data.size()).ok());
    EXPECT_EQ(stats_of(GetParam().so).writes - writes_before, (data.size() / kBs + 127) / 128);
    std::vector<uint8_t> back(data.size());
    ASSERT_TRUE(dev_->read(33, back.data(), back.size()).ok());
    EXPECT_EQ(back, data);
    std::vector<uint8_t> b10(4 * kBs);
    ASSERT_TRUE(dev_->read10(33, b10.data(), b10.size()).ok());
    EXPECT_TRUE(std::equal(b10.begin(), b10.end(), data.begin()));
}

TEST_P(HarnessMemtest, InitiatorReachesTheHandler) {
    std::vector<uint8_t> buf(kBs);
    ASSERT_TRUE(dev_->read(0, buf.data(), buf.size(), "iqn.2026-01.test:alice").ok());
    EXPECT_STREQ(stats_of(GetParam().so).last_initiator, "iqn.2026-01.test:alice");
    ASSERT_TRUE(dev_->write(0, buf.data(), buf.size(), "iqn.2026-01.test:bob").ok());
    EXPECT_STREQ(stats_of(GetParam().so).last_initiator, "iqn.2026-01.test:bob");
}

TEST_P(HarnessMemtest, OutOfRangeAndLengthMismatch) {
    std::vector<uint8_t> buf(4 * kBs);
    const uint64_t n = dev_->num_lbas();
    Result r = dev_->read(n - 1, buf.data(), 2 * kBs);
    EXPECT_EQ(r.tcmu_status, TCMU_STS_RANGE);
    EXPECT_EQ(r.scsi_status, kCheckCondition);
    EXPECT_EQ(r.sense[0], 0x70);
    EXPECT_EQ(r.sense_view().key(), kIllegalRequest);
    EXPECT_EQ(r.sense_view().asc(), 0x21);
    EXPECT_TRUE(dev_->read(n - 2, buf.data(), 2 * kBs).ok());
    r = dev_->execute(Request{make_write16(0, 4), {{buf.data(), 3 * kBs}}});
    EXPECT_EQ(r.tcmu_status, TCMU_STS_HW_ERR);
    r = dev_->execute(Request{make_write16(~0ull - 1, 4), {{buf.data(), 4 * kBs}}});
    EXPECT_EQ(r.tcmu_status, TCMU_STS_RANGE);
}

TEST_P(HarnessMemtest, WriteSameNativeOrEmulated) {
    auto block = pattern(kBs, 2);
    const uint64_t lba = 100;
    const uint32_t n = 5000;  // > 1 MiB: the emulation writes it in several chunks
    const memtest_stats before = stats_of(GetParam().so);
    ASSERT_TRUE(dev_->write_same(lba, n, block.data(), false).ok());
    const memtest_stats after = stats_of(GetParam().so);
    if (GetParam().native) {
        EXPECT_EQ(after.writesames - before.writesames, 1u);
    } else {
        EXPECT_EQ(after.writesames, 0u);
        EXPECT_GE(after.writes - before.writes, 2u);
    }
    std::vector<uint8_t> back(static_cast<size_t>(n + 2) * kBs);
    ASSERT_TRUE(dev_->read(lba - 1, back.data(), back.size()).ok());
    for (uint32_t i = 1; i <= n; ++i)
        ASSERT_TRUE(std::equal(block.begin(), block.end(), back.begin() + i * kBs)) << i;
    EXPECT_NE(std::memcmp(back.data(), block.data(), kBs), 0);
    EXPECT_EQ(dev_->write_same(lba, 0, block.data(), false).tcmu_status, TCMU_STS_INVALID_CDB);
    Result bad = dev_->execute(
        Request{make_write_same16(lba, 2, false), {{back.data(), 2 * kBs}}});  // 2 blocks
    EXPECT_EQ(bad.tcmu_status, TCMU_STS_INVALID_CDB);
}

TEST_P(HarnessMemtest, WriteSameWithUnmapBitUsesUnmapWhenAligned) {
    auto fill = pattern(256 * kBs, 3);
    ASSERT_TRUE(dev_->write(64, fill.data(), fill.size()).ok());
    std::vector<uint8_t> zero(kBs, 0);
    const unsigned unmaps = stats_of(GetParam().so).unmaps;
    ASSERT_TRUE(dev_->write_same(64, 128, zero.data(), true).ok());  // aligned to 64
    EXPECT_GT(stats_of(GetParam().so).unmaps, unmaps);
    std::vector<uint8_t> back(fill.size());
    ASSERT_TRUE(dev_->read(64, back.data(), back.size()).ok());
    EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 128 * kBs, [](uint8_t b) { return !b; }));
    EXPECT_TRUE(std::equal(back.begin() + 128 * kBs, back.end(), fill.begin() + 128 * kBs));
    // Unaligned: falls back to a plain write same (no unmap callout).
    const unsigned unmaps2 = stats_of(GetParam().so).unmaps;
    ASSERT_TRUE(dev_->write_same(65, 10, zero.data(), true).ok());
    EXPECT_EQ(stats_of(GetParam().so).unmaps, unmaps2);
}

TEST_P(HarnessMemtest, UnmapDescriptorsBecomeByteRanges) {
    auto fill = pattern(4096 * kBs, 4);
    ASSERT_TRUE(dev_->write(0, fill.data(), fill.size()).ok());
    const unsigned before = stats_of(GetParam().so).unmaps;
    const LbaRange one[] = {{1000, 300}};
    ASSERT_TRUE(dev_->unmap(one).ok());
    memtest_stats s = stats_of(GetParam().so);
    // Not split (memtest asks split=false): one callout with the whole descriptor.
    EXPECT_EQ(s.unmaps - before, 1u);
    EXPECT_EQ(s.last_unmap_off, 1000u * kBs);
    EXPECT_EQ(s.last_unmap_len, 300u * kBs);
    std::vector<uint8_t> back(302 * kBs);
    ASSERT_TRUE(dev_->read(999, back.data(), back.size()).ok());
    EXPECT_TRUE(std::equal(back.begin(), back.begin() + kBs, fill.begin() + 999 * kBs));
    EXPECT_TRUE(std::all_of(back.begin() + kBs, back.end() - kBs, [](uint8_t b) { return !b; }));
    EXPECT_TRUE(std::equal(back.end() - kBs, back.end(), fill.begin() + 1300 * kBs));
    // A descriptor longer than max_unmap_len (1024) is refused.
    const LbaRange big[] = {{0, 2000}};
    EXPECT_EQ(dev_->unmap(big).tcmu_status, TCMU_STS_INVALID_PARAM_LIST);
    const LbaRange past[] = {{dev_->num_lbas() - 1, 2}};
    EXPECT_EQ(dev_->unmap(past).tcmu_status, TCMU_STS_RANGE);
    EXPECT_TRUE(dev_->unmap({}).ok());
}

TEST_P(HarnessMemtest, UnmapSplitIntoAlignedGranules) {
    auto h = std::make_unique<Harness>(GetParam().so);
    auto dev = h->open({"dev1;unmap_split", kSize, kBs, 128});
    const unsigned before = stats_of(GetParam().so).unmaps;
    const LbaRange r[] = {
        {10, 200}};  // granules of 64 aligned to 64: 10-63, 64-127, 128-191, 192-209
    ASSERT_TRUE(dev->unmap(r).ok());
    memtest_stats s = stats_of(GetParam().so);
    EXPECT_EQ(s.unmaps - before, 4u);
    // Chunks may complete in any order with nr_threads > 0; check the set via the data.
    EXPECT_TRUE(s.last_unmap_len == 54u * kBs || s.last_unmap_len == 64u * kBs ||
                s.last_unmap_len == 18u * kBs);
}

TEST_P(HarnessMemtest, CompareAndWriteMatchAndMiscompare) {
    auto x = pattern(kBs, 5), y = pattern(kBs, 6), w = pattern(kBs, 7);
    ASSERT_TRUE(dev_->write(77, x.data(), kBs).ok());
    ASSERT_TRUE(dev_->compare_and_write(77, x.data(), y.data(), 1).ok());
    std::vector<uint8_t> back(kBs);
    ASSERT_TRUE(dev_->read(77, back.data(), kBs).ok());
    EXPECT_EQ(back, y);
    auto z = y;
    z[321] ^= 1;
    Result r = dev_->compare_and_write(77, z.data(), w.data(), 1);
    EXPECT_EQ(r.tcmu_status, TCMU_STS_MISCOMPARE);
    EXPECT_EQ(r.sense_view().key(), kMiscompare);
    EXPECT_EQ(r.sense_view().asc(), 0x1d);
    EXPECT_TRUE(r.sense_view().info_valid());
    EXPECT_EQ(r.sense_view().info(), 321u);
    ASSERT_TRUE(dev_->read(77, back.data(), kBs).ok());
    EXPECT_EQ(back, y);
    EXPECT_TRUE(dev_->compare_and_write(77, y.data(), w.data(), 0).ok());  // 0 blocks: no-op
    EXPECT_EQ(stats_of(GetParam().so).caws > 0, GetParam().native);
}

TEST_P(HarnessMemtest, SyncCacheWithOrWithoutFlush) {
    const unsigned before = stats_of(GetParam().so).flushes;
    EXPECT_TRUE(dev_->sync(false).ok());
    EXPECT_TRUE(dev_->sync(true).ok());
    EXPECT_EQ(stats_of(GetParam().so).flushes - before, GetParam().native ? 2u : 0u);
}

TEST_P(HarnessMemtest, ManyCommandsInFlightFromSeveralInitiators) {
    constexpr unsigned kN = 256;
    std::vector<std::vector<uint8_t>> bufs;
    for (unsigned i = 0; i < kN; ++i) bufs.push_back(pattern(8 * kBs, 100 + i));
    std::mutex mu;
    std::condition_variable cv;
    unsigned pending = kN, good = 0;
    for (unsigned i = 0; i < kN; ++i) {
        dev_->submit(Request{make_write16(i * 8, 8),
                             {{bufs[i].data(), 8 * kBs}},
                             "iqn.test:" + std::to_string(i % 7)},
                     [&](const Result& r) {
                         std::lock_guard lk(mu);
                         good += r.ok();
                         if (--pending == 0) cv.notify_one();
                     });
    }
    {
        std::unique_lock lk(mu);
        ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return pending == 0; }));
    }
    EXPECT_EQ(good, kN);
    dev_->drain();
    EXPECT_EQ(dev_->in_flight(), 0u);
    std::vector<uint8_t> all(kN * 8 * kBs);
    ASSERT_TRUE(dev_->read(0, all.data(), all.size()).ok());
    for (unsigned i = 0; i < kN; ++i)
        ASSERT_TRUE(std::equal(bufs[i].begin(), bufs[i].end(), all.begin() + i * 8 * kBs)) << i;
}

TEST_P(HarnessMemtest, UnknownOpcodeIsInvalidCommand) {
    Result r = dev_->execute(Request{Cdb{{0x12}, 6}, {}});  // INQUIRY: not emulated
    EXPECT_EQ(r.sense_view().key(), kIllegalRequest);
    EXPECT_EQ(r.sense_view().asc(), 0x20);
}

TEST_P(HarnessMemtest, ImplicitFailoverTakesTheLockAndRetakesItAfterALoss) {
    DeviceConfig dc{"dev2", kSize, kBs, 128};
    dc.implicit_failover = true;
    auto h = std::make_unique<Harness>(GetParam().so);
    auto dev = h->open(dc);
    EXPECT_EQ(dev->runner_state().lock_state, TCMUR_DEV_LOCK_UNKNOWN);
    const memtest_stats s0 = stats_of(GetParam().so);
    // Raw submit: the first write answers BUSY and starts the lock acquisition.
    std::vector<uint8_t> buf = pattern(8 * kBs, 9);
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result> first;
    dev->submit(Request{make_write16(0, 8), {{buf.data(), buf.size()}}}, [&](const Result& r) {
        std::lock_guard lk(mu);
        first = r;
        cv.notify_one();
    });
    {
        std::unique_lock lk(mu);
        ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return first.has_value(); }));
    }
    EXPECT_EQ(first->scsi_status, kBusy);
    // The synchronous helper retries BUSY until the lock is held.
    ASSERT_TRUE(dev->write(0, buf.data(), buf.size()).ok());
    EXPECT_EQ(dev->runner_state().lock_state, TCMUR_DEV_LOCK_WRITE_LOCKED);
    const memtest_stats s1 = stats_of(GetParam().so);
    EXPECT_EQ(s1.locks - s0.locks, 1u);
    EXPECT_EQ(s1.reopens, s0.reopens);
    // Another gateway takes the lock: the handler notifies, the next command reopens the
    // device and takes the lock again; the data survives.
    void* so = dlopen(GetParam().so, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(so, nullptr);
    auto lose = reinterpret_cast<void (*)()>(dlsym(so, "memtest_lose_lock"));
    ASSERT_NE(lose, nullptr);
    lose();
    dlclose(so);
    EXPECT_EQ(dev->runner_state().lock_state, TCMUR_DEV_LOCK_UNLOCKED);
    EXPECT_EQ(dev->runner_state().lock_lost_cnt, 1u);
    std::vector<uint8_t> back(buf.size());
    ASSERT_TRUE(dev->read(0, back.data(), back.size()).ok());
    EXPECT_EQ(back, buf);
    const memtest_stats s2 = stats_of(GetParam().so);
    EXPECT_EQ(s2.reopens - s1.reopens, 1u);
    // A read after a loss needs only a reopen (read lock), not the write lock.
    EXPECT_EQ(s2.locks, s1.locks);
    EXPECT_EQ(dev->runner_state().lock_state, TCMUR_DEV_LOCK_READ_LOCKED);
    ASSERT_TRUE(dev->write(8, buf.data(), buf.size()).ok());
    EXPECT_EQ(stats_of(GetParam().so).locks - s1.locks, 1u);
    EXPECT_EQ(dev->runner_state().lock_state, TCMUR_DEV_LOCK_WRITE_LOCKED);
}

INSTANTIATE_TEST_SUITE_P(Variants, HarnessMemtest,
                         ::testing::Values(Variant{MEMTEST_ASYNC_SO, true},
                                           Variant{MEMTEST_SYNC_SO, false}),
                         [](const auto& info) {
                             return std::string(info.param.native ? "native_async"
                                                                  : "emulated_threads");
                         });
