// CopyBuffer and CopyBufferPool (ceph/copy_buffers.h): mapped memory, handed back to the OS when
// let go; a pool that reuses its buffers and keeps no more than its idle limit.
#include "ceph/copy_buffers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstring>
#include <thread>
#include <vector>

namespace rbdtier::ceph {
namespace {

TEST(CopyBuffer, MapsWholeZeroedPagesAndMoves) {
    auto mapped = CopyBuffer::map(5000);
    ASSERT_TRUE(mapped.is_ok()) << mapped.status().message();
    CopyBuffer buffer = std::move(mapped).value();
    ASSERT_NE(buffer.data(), nullptr);
    EXPECT_EQ(buffer.size() % 4096, 0u);
    EXPECT_GE(buffer.size(), 5000u);
    EXPECT_TRUE(
        std::all_of(buffer.data(), buffer.data() + buffer.size(), [](char c) { return c == 0; }));
    std::memset(buffer.data(), 'x', buffer.size());
    CopyBuffer moved = std::move(buffer);
    EXPECT_EQ(buffer.data(), nullptr);  // NOLINT(bugprone-use-after-move): checked empty
    EXPECT_EQ(moved.data()[0], 'x');
}

TEST(CopyBuffer, AnImpossibleSizeIsAnError) {
    auto mapped = CopyBuffer::map(std::size_t{1} << 62);
    ASSERT_FALSE(mapped.is_ok());
    EXPECT_EQ(mapped.status().code(), -ENOMEM);
}

// Migrations one after another on each of `limit` threads at once: at most `limit` buffers
// are ever mapped, and each lease sees the size it asked for.
TEST(CopyBufferPool, ConcurrentMigrationsReuseAtMostTheIdleLimit) {
    constexpr std::size_t kLimit = 4;
    constexpr int kPerThread = 50;
    CopyBufferPool pool(kLimit);
    std::barrier start(static_cast<std::ptrdiff_t>(kLimit));
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (std::size_t t = 0; t < kLimit; ++t) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < kPerThread; ++i) {
                auto lease = pool.acquire(8 << 20);
                if (!lease || lease->bytes().size() != (8u << 20)) {
                    ++failures;
                    continue;
                }
                lease->bytes().front() = 1;
                lease->bytes().back() = 1;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    const CopyBufferPool::Stats s = pool.stats();
    EXPECT_LE(s.mapped_total, kLimit);
    EXPECT_GE(s.mapped_total, 1u);
    EXPECT_EQ(s.mapped_now, s.idle);
}

// Beyond the idle limit a returned buffer is unmapped; a smaller request takes an idle buffer
// that is large enough.
TEST(CopyBufferPool, KeepsNoMoreThanItsIdleLimit) {
    CopyBufferPool pool(1);
    {
        auto a = pool.acquire(1 << 20);
        auto b = pool.acquire(1 << 20);
        ASSERT_TRUE(a.is_ok() && b.is_ok());
        EXPECT_EQ(pool.stats().mapped_now, 2u);
    }
    EXPECT_EQ(pool.stats().mapped_now, 1u);
    EXPECT_EQ(pool.stats().idle, 1u);
    {
        auto small = pool.acquire(4096);
        ASSERT_TRUE(small.is_ok());
        EXPECT_EQ(small->bytes().size(), 4096u);
        EXPECT_EQ(pool.stats().mapped_total, 2u);  // reused, not mapped
    }
}

// Full, the pool keeps the larger buffer: one that fits any request it served.
TEST(CopyBufferPool, KeepsTheLargestWhenFull) {
    CopyBufferPool pool(1);
    {
        auto small = pool.acquire(4096);
        ASSERT_TRUE(small.is_ok());
    }  // idle: the small one
    {
        auto large = pool.acquire(1 << 20);  // the idle one is too small: mapped
        ASSERT_TRUE(large.is_ok());
        EXPECT_EQ(pool.stats().mapped_total, 2u);
    }  // full: the small one goes
    EXPECT_EQ(pool.stats().mapped_now, 1u);
    auto again = pool.acquire(1 << 20);
    ASSERT_TRUE(again.is_ok());
    EXPECT_EQ(pool.stats().mapped_total, 2u);  // the large one kept and reused
}

TEST(CopyBufferPool, SharedIsOneWhileHeldAndGoneAfter) {
    auto a = CopyBufferPool::shared();
    auto b = CopyBufferPool::shared();
    EXPECT_EQ(a.get(), b.get());
    std::weak_ptr<CopyBufferPool> weak = a;
    a.reset();
    b.reset();
    EXPECT_TRUE(weak.expired());  // every buffer unmapped with it
}

}  // namespace
}  // namespace rbdtier::ceph
