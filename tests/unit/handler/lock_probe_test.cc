// LockProbe: a standby LUN's rounds ask the cluster about the lock once per standby period (not
// every round), at once after a command or callout that may take the lock, and every round
// while the lock is held; a standby is known as such to others without asking.
#include "handler/lock_probe.h"

#include <gtest/gtest.h>

#include <chrono>

namespace rbdtier {
namespace {

using namespace std::chrono_literals;
using Clock = LockProbe::Clock;

// Runs `rounds` rounds one second apart from `start`, each answering `held` when it asks;
// returns how many asked.
int asks_over(LockProbe& probe, Clock::time_point& now, int rounds, bool held) {
    int asks = 0;
    for (int i = 0; i < rounds; ++i, now += 1s) {
        if (!probe.should_ask(now)) continue;
        ++asks;
        probe.answered(held, now);
    }
    return asks;
}

TEST(LockProbe, FirstRoundAsks) {
    LockProbe probe(10s);
    EXPECT_TRUE(probe.should_ask(Clock::time_point{}));
}

TEST(LockProbe, StandbyAsksOncePerPeriodNotEveryRound) {
    LockProbe probe(10s);
    Clock::time_point now{};
    // 100 rounds of one second: the first, then one per 10 s.
    EXPECT_EQ(asks_over(probe, now, 100, /*held=*/false), 10);
}

TEST(LockProbe, OwnerAsksEveryRound) {
    LockProbe probe(10s);
    Clock::time_point now{};
    EXPECT_EQ(asks_over(probe, now, 20, /*held=*/true), 20);
}

TEST(LockProbe, CommandThatMayTakeTheLockMakesTheNextRoundAsk) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(false, now);
    now += 1s;
    EXPECT_FALSE(probe.should_ask(now));
    probe.note_may_take();
    probe.note_may_take();  // several commands: one ask
    EXPECT_TRUE(probe.should_ask(now));
    probe.answered(false, now);
    EXPECT_FALSE(probe.should_ask(now + 1s));
}

TEST(LockProbe, LostLockFallsBackToTheStandbyPeriod) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(true, now);
    EXPECT_TRUE(probe.should_ask(now + 1s));
    probe.answered(false, now + 1s);
    EXPECT_FALSE(probe.should_ask(now + 2s));
    EXPECT_TRUE(probe.should_ask(now + 11s));
}

TEST(LockProbe, NotKnownBeforeTheFirstAnswer) {
    LockProbe probe(10s);
    EXPECT_FALSE(probe.known_not_held(Clock::time_point{}));
}

TEST(LockProbe, StandbyKnownNotHeldWithinThePeriod) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(false, now);
    EXPECT_TRUE(probe.known_not_held(now + 9s));
    EXPECT_FALSE(probe.known_not_held(now + 20s));  // too old: whoever shows it asks
    // Reading it is no answer: the rounds still ask once per period.
    EXPECT_FALSE(probe.should_ask(now + 9s));
    EXPECT_TRUE(probe.should_ask(now + 10s));
}

// The rounds ask at their first round past the period: a look in between (the service map's,
// every few seconds) finds the answer they are about to renew, and asks the cluster nothing.
TEST(LockProbe, StandbyStillKnownNotHeldUntilItsRoundsRenewTheAnswer) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(false, now);
    EXPECT_TRUE(probe.known_not_held(now + 10s));
    EXPECT_TRUE(probe.known_not_held(now + 10s + 900ms));
    probe.answered(false, now + 10s + 900ms);
    EXPECT_TRUE(probe.known_not_held(now + 25s));
    EXPECT_FALSE(probe.known_not_held(now + 30s + 900ms)) << "rounds that stopped asking";
}

TEST(LockProbe, HolderIsNeverKnownNotHeld) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(true, now);
    EXPECT_FALSE(probe.known_not_held(now + 1s));
}

TEST(LockProbe, NoteOfAPossibleTakeEndsWhatIsKnownWithoutConsumingIt) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(false, now);
    probe.note_may_take();
    EXPECT_FALSE(probe.known_not_held(now + 1s));
    EXPECT_TRUE(probe.should_ask(now + 1s));  // the rounds still see the note
    probe.answered(false, now + 1s);
    EXPECT_TRUE(probe.known_not_held(now + 2s));
}

}  // namespace
}  // namespace rbdtier
