// TokenBucket: starts full, fills at its rate up to its depth, says how long until a request is
// there, and waits on an injected clock.
#include "engine/token_bucket.h"

#include <gtest/gtest.h>

#include <vector>

namespace rbdtier {
namespace {

constexpr double kMiB = 1 << 20;

TEST(TokenBucket, StartsFullAndFillsAtItsRateUpToItsDepth) {
    TokenBucket bucket(10 * kMiB, 20 * kMiB, 1'000);
    EXPECT_DOUBLE_EQ(bucket.level(), 20 * kMiB);
    bucket.take(20 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level(), 0);
    bucket.refill(1'000 + 500'000);  // half a second: 5 MiB
    EXPECT_DOUBLE_EQ(bucket.level(), 5 * kMiB);
    bucket.refill(1'000 + 10'000'000);  // far more than the depth
    EXPECT_DOUBLE_EQ(bucket.level(), 20 * kMiB);
}

TEST(TokenBucket, AClockGoingBackwardsAddsAndTakesNothing) {
    TokenBucket bucket(10 * kMiB, 0, 1'000'000);
    bucket.take(10 * kMiB);
    bucket.refill(500'000);
    EXPECT_DOUBLE_EQ(bucket.level(), 0);
    bucket.refill(1'100'000);  // 0.1 s after the latest time seen, not after the earlier one
    EXPECT_DOUBLE_EQ(bucket.level(), 1 * kMiB);
}

TEST(TokenBucket, DepthZeroIsOneSecondOfTheRateInForce) {
    TokenBucket bucket(8 * kMiB, 0, 0);
    EXPECT_DOUBLE_EQ(bucket.depth(), 8 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level(), 8 * kMiB);
    bucket.set_rate(2 * kMiB);  // a lower budget lowers what the bucket holds
    EXPECT_DOUBLE_EQ(bucket.depth(), 2 * kMiB);
    bucket.refill(0);
    EXPECT_DOUBLE_EQ(bucket.level(), 2 * kMiB);
    bucket.set_rate(4 * kMiB);  // the new rate counts from the last refill
    bucket.refill(2'000'000);
    EXPECT_DOUBLE_EQ(bucket.level(), 4 * kMiB);
}

TEST(TokenBucket, LevelAtLooksAheadWithoutRefilling) {
    TokenBucket bucket(1 * kMiB, 4 * kMiB, 0);
    bucket.take(4 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level_at(2'000'000), 2 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level(), 0);
}

TEST(TokenBucket, WaitIsRoundedUpAndTheTokensAreThereThen) {
    TokenBucket bucket(3 * kMiB, 4 * kMiB, 0);
    bucket.take(4 * kMiB);
    EXPECT_EQ(bucket.wait_us(0, 0), 0u);
    const std::uint64_t wait = bucket.wait_us(1 * kMiB, 0);
    EXPECT_EQ(wait, 333'334u);  // 1/3 s, rounded up
    bucket.refill(wait);
    EXPECT_GE(bucket.level(), 1 * kMiB);
    EXPECT_EQ(bucket.wait_us(1 * kMiB, wait), 0u);
}

TEST(TokenBucket, NoRateNeverFills) {
    TokenBucket bucket(0, 4 * kMiB, 0);
    bucket.take(4 * kMiB);
    EXPECT_EQ(bucket.wait_us(1, 0), TokenBucket::kNever);
    bucket.set_rate(-5);
    EXPECT_EQ(bucket.wait_us(1, 0), TokenBucket::kNever);
}

TEST(TokenBucket, GiveBackAndCoverStayWithinTheDepth) {
    TokenBucket bucket(1 * kMiB, 4 * kMiB, 0);
    bucket.take(1 * kMiB);
    bucket.give_back(2 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level(), 4 * kMiB);
    bucket.take(4 * kMiB);
    bucket.cover(1 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level(), 1 * kMiB);
    bucket.cover(0.5 * kMiB);  // never lowers
    EXPECT_DOUBLE_EQ(bucket.level(), 1 * kMiB);
}

TEST(TokenBucket, CopiesCarryRateDepthLevelAndTime) {
    TokenBucket bucket(1 * kMiB, 4 * kMiB, 100);
    bucket.take(3 * kMiB);
    TokenBucket copy(bucket);
    copy.refill(100 + 1'000'000);
    EXPECT_DOUBLE_EQ(copy.level(), 2 * kMiB);
    EXPECT_DOUBLE_EQ(bucket.level(), 1 * kMiB);
}

// A fake clock: sleeping advances it by what was asked.
struct FakeTime {
    std::uint64_t now_us = 0;
    std::vector<std::uint64_t> sleeps;
    bool stop_after_first_sleep = false;
    TokenBucket::Clock clock() {
        return [this] { return now_us; };
    }
    TokenBucket::Sleep sleep() {
        return [this](std::uint64_t wait_us) {
            sleeps.push_back(wait_us);
            now_us += wait_us;
            return !stop_after_first_sleep;
        };
    }
};

TEST(TokenBucket, AwaitSleepsUntilTheTokensAreThere) {
    FakeTime time;
    TokenBucket bucket(4 * kMiB, 4 * kMiB, 0);
    EXPECT_TRUE(bucket.await(4 * kMiB, 0, time.clock(), time.sleep()));  // full: no sleep
    EXPECT_TRUE(time.sleeps.empty());
    bucket.take(4 * kMiB);
    EXPECT_TRUE(bucket.await(2 * kMiB, 1'000'000, time.clock(), time.sleep()));
    EXPECT_EQ(time.sleeps, std::vector<std::uint64_t>{500'000});
    EXPECT_DOUBLE_EQ(bucket.level(), 2 * kMiB);  // there, not taken
}

TEST(TokenBucket, AwaitGivesUpPastTheDeadlineWithoutSleeping) {
    FakeTime time;
    TokenBucket bucket(4 * kMiB, 4 * kMiB, 0);
    bucket.take(4 * kMiB);
    EXPECT_FALSE(bucket.await(4 * kMiB, 999'999, time.clock(), time.sleep()));
    EXPECT_TRUE(time.sleeps.empty());
    EXPECT_TRUE(bucket.await(4 * kMiB, 1'000'000, time.clock(), time.sleep()));
}

TEST(TokenBucket, AwaitGivesUpWhenTheSleepIsCutShortOrThereIsNoRate) {
    FakeTime time;
    time.stop_after_first_sleep = true;
    TokenBucket bucket(4 * kMiB, 4 * kMiB, 0);
    bucket.take(4 * kMiB);
    EXPECT_FALSE(bucket.await(1 * kMiB, 10'000'000, time.clock(), time.sleep()));
    EXPECT_EQ(time.sleeps.size(), 1u);
    bucket.set_rate(0);
    time.sleeps.clear();
    bucket.take(bucket.level());
    EXPECT_FALSE(bucket.await(1 * kMiB, 10'000'000, time.clock(), time.sleep()));
    EXPECT_TRUE(time.sleeps.empty());
}

TEST(TokenBucket, AwaitSeesARateChangedWhileItWaits) {
    // The first sleep, cut at half, lowers the rate (as an admin would, from another thread): the
    // refill counts the whole interval at the new rate and the next wait is computed with it.
    std::uint64_t now = 0;
    std::vector<std::uint64_t> sleeps;
    TokenBucket bucket(1 * kMiB, 8 * kMiB, 0);
    bucket.take(8 * kMiB);
    const bool there = bucket.await(
        2 * kMiB, 100'000'000, [&] { return now; },
        [&](std::uint64_t wait_us) {
            sleeps.push_back(wait_us);
            if (sleeps.size() == 1) {
                now += wait_us / 2;
                bucket.set_rate(0.5 * kMiB);
            } else {
                now += wait_us;
            }
            return true;
        });
    EXPECT_TRUE(there);
    // 0.5 MiB came in the first second at the new rate: 1.5 MiB more at 0.5 MiB/s.
    EXPECT_EQ(sleeps, (std::vector<std::uint64_t>{2'000'000, 3'000'000}));
    EXPECT_EQ(now, 4'000'000u);
}

}  // namespace
}  // namespace rbdtier
