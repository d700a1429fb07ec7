// LockProbe: a LUN's rounds ask the cluster about the lock once per period (not every round),
// held or not, and at once after a command or callout that may take the lock; any asker's answer
// serves them, the one asked last winning; a standby is known as such to others without asking.
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

// An idle holder's rounds renew the answer once per period too: a round that has something to
// move asks for itself (the owner rule), and a lost lock shows within a period.
TEST(LockProbe, HolderAsksOncePerPeriodNotEveryRound) {
    LockProbe probe(10s);
    Clock::time_point now{};
    EXPECT_EQ(asks_over(probe, now, 20, /*held=*/true), 2);
    EXPECT_TRUE(probe.held());
}

// Whoever else asks (the service map, a commit's check) answers for the rounds too.
TEST(LockProbe, AnAnswerFromAnyAskerServesTheRounds) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(true, now);
    for (int look = 1; look <= 4; ++look) probe.answered(true, now + look * 5s);
    EXPECT_FALSE(probe.should_ask(now + 21s));
    probe.answered(false, now + 22s);  // lost: the next look finds it
    EXPECT_FALSE(probe.held());
    EXPECT_TRUE(probe.known_not_held(now + 23s));
}

// Asks made at once answer in any order: the one asked last wins.
TEST(LockProbe, AnAnswerAskedBeforeTheLastOneIsIgnored) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(true, now + 2s);
    probe.answered(false, now + 1s);  // asked earlier, answered later
    EXPECT_TRUE(probe.held());
    EXPECT_FALSE(probe.known_not_held(now + 3s));
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

TEST(LockProbe, LostLockIsAskedAgainAfterThePeriod) {
    LockProbe probe(10s);
    Clock::time_point now{};
    probe.answered(true, now);
    EXPECT_FALSE(probe.should_ask(now + 1s));
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
