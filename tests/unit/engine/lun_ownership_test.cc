// LunOwnership: the order of the questions a LUN's rounds ask before they plan and before they
// move extents, and what each answer decides; only a round with something to move asks the
// cluster for a lock it knows held.
#include "engine/lun_ownership.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace rbdtier {
namespace {

// Answers as set; records the questions in the order they were asked.
class FakeSource final : public OwnershipSource {
public:
    RoundLock round_lock{true, true};  // asked of the cluster this round, held
    bool lock = true;
    bool by_callout = false;
    std::optional<std::size_t> open_by = 1;  // nullopt: counting fails
    bool pin_read = true;
    bool ownership_taken = true;
    std::vector<std::string> asked;
    std::vector<std::optional<OwnershipRefusal>> noted;

    RoundLock lock_this_round() override {
        asked.push_back(round_lock.asked ? "lock_this_round" : "lock_as_known");
        return round_lock;
    }
    bool holds_lock() override {
        asked.push_back("holds_lock");
        return lock;
    }
    bool lock_by_callout() const override { return by_callout; }
    std::optional<std::size_t> gateways(OwnershipRefusal& why) override {
        asked.push_back("gateways");
        if (!open_by) why = {-ETIMEDOUT, "list watchers of image rbd/lun"};
        return open_by;
    }
    bool follow_home_pin() override {
        asked.push_back("follow_home_pin");
        return pin_read;
    }
    bool take_ownership() override {
        asked.push_back("take_ownership");
        return ownership_taken;
    }
    void note_problem(const std::optional<OwnershipRefusal>& problem) override {
        noted.push_back(problem);
    }
};

using Asked = std::vector<std::string>;

// The round's own answer is the holder's: the lock is asked of the cluster once a round.
TEST(LunOwnership, TheHolderAloneFollowsThePinChecksAndTakesTheTiering) {
    FakeSource s;
    LunOwnership rule(s);
    EXPECT_TRUE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_this_round", "follow_home_pin", "gateways", "take_ownership"}));
    ASSERT_EQ(s.noted.size(), 1u);
    EXPECT_FALSE(s.noted[0]) << "a move allowed clears the problem noted before";
    EXPECT_TRUE(rule.may_migrate());
    EXPECT_EQ(s.asked.size(), 4u) << "the round asked the lock already: its orders ask nothing";
}

// An idle holder's round plans on the lock as last known and asks the cluster nothing; a round
// with orders asks it then, and the holder's checks go on from that answer.
TEST(LunOwnership, AHolderAsksTheLockOnlyWhenItHasSomethingToMove) {
    FakeSource s;
    s.round_lock = {true, false};
    LunOwnership rule(s);
    EXPECT_TRUE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_as_known", "follow_home_pin"}));
    s.asked.clear();
    EXPECT_TRUE(rule.may_plan());  // the next round, still idle
    EXPECT_EQ(s.asked, (Asked{"lock_as_known", "follow_home_pin"}));
    s.asked.clear();
    EXPECT_TRUE(rule.may_migrate());  // it has orders
    EXPECT_EQ(s.asked, (Asked{"holds_lock", "gateways", "take_ownership"}));
    s.asked.clear();
    EXPECT_TRUE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_as_known", "follow_home_pin"}))
        << "what a round asked does not carry over to the next";
}

// A lock lost since it was last asked: the round's orders are not submitted.
TEST(LunOwnership, AHolderWhoseLockIsGoneWhenItHasOrdersMovesNothing) {
    FakeSource s;
    s.round_lock = {true, false};
    s.lock = false;
    LunOwnership rule(s);
    EXPECT_TRUE(rule.may_plan());
    EXPECT_FALSE(rule.may_migrate());
    EXPECT_EQ(s.asked.back(), "holds_lock") << "nothing else is asked of a standby";
    EXPECT_TRUE(s.noted.empty()) << "a standby has no problem: another gateway owns the LUN";
}

TEST(LunOwnership, AStandbyBetweenAsksPlansNothingAndAsksNothingElse) {
    FakeSource s;
    s.round_lock = {false, false};
    LunOwnership rule(s);
    EXPECT_FALSE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_as_known"}));
    EXPECT_TRUE(s.noted.empty());
}

TEST(LunOwnership, AStandbyFollowsTheHomePinButMovesNothing) {
    FakeSource s;
    s.round_lock = {false, true};
    LunOwnership rule(s);
    EXPECT_FALSE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_this_round", "follow_home_pin"}));
    EXPECT_TRUE(s.noted.empty()) << "a standby has no problem: another gateway owns the LUN";
}

TEST(LunOwnership, AnUnreadableHomePinStopsTheHolder) {
    FakeSource s;
    s.pin_read = false;
    LunOwnership rule(s);
    EXPECT_FALSE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_this_round", "follow_home_pin"}));
}

TEST(LunOwnership, WithoutAluaASecondGatewayStopsTheMovesWithTheReason) {
    FakeSource s;
    s.open_by = 2;
    LunOwnership rule(s);
    EXPECT_FALSE(rule.may_plan());
    ASSERT_EQ(s.noted.size(), 1u);
    ASSERT_TRUE(s.noted[0]);
    EXPECT_EQ(s.noted[0]->code, -EBUSY);
    EXPECT_EQ(s.noted[0]->reason,
              "2 gateways serve the LUN without ALUA: extents move only under ALUA implicit "
              "failover (one lock owner) or with a single gateway");
    EXPECT_EQ(s.asked.back(), "gateways") << "the tiering is not taken";
    // A holder as last known plans; its orders meet the same refusal.
    s.round_lock = {true, false};
    s.noted.clear();
    EXPECT_TRUE(rule.may_plan());
    EXPECT_FALSE(rule.may_migrate());
    ASSERT_EQ(s.noted.size(), 1u);
    EXPECT_TRUE(s.noted[0]);
}

TEST(LunOwnership, UnderAluaOtherGatewaysAreNotCounted) {
    FakeSource s;
    s.by_callout = true;
    s.open_by = 3;
    LunOwnership rule(s);
    EXPECT_TRUE(rule.may_plan());
    EXPECT_EQ(s.asked, (Asked{"lock_this_round", "follow_home_pin", "take_ownership"}));
}

TEST(LunOwnership, ALockLostSinceTheRoundAskedStopsTheCommit) {
    FakeSource s;
    s.lock = false;  // the round's answer was "held"; asked again before a commit, it is not
    LunOwnership rule(s);
    EXPECT_TRUE(rule.may_plan());
    const auto refused = rule.may_move_extents();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, -EBUSY);
    EXPECT_EQ(refused->reason, "not the holder of the LUN's lock");
}

TEST(LunOwnership, GatewaysThatCannotBeCountedStopTheMovesWithWhy) {
    FakeSource s;
    s.open_by = std::nullopt;
    const auto refused = LunOwnership(s).may_move_extents();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, -ETIMEDOUT);
    EXPECT_EQ(refused->reason, "list watchers of image rbd/lun");
}

TEST(LunOwnership, ATieringThatCannotBeTakenMovesNothingAndClearsNothing) {
    FakeSource s;
    s.ownership_taken = false;
    LunOwnership rule(s);
    EXPECT_FALSE(rule.may_plan());
    EXPECT_TRUE(s.noted.empty()) << "the source notes why it could not take it";
}

TEST(LunOwnership, ACommitIsAllowedToTheSoleHolder) {
    FakeSource s;
    EXPECT_FALSE(LunOwnership(s).may_move_extents());
    EXPECT_EQ(s.asked, (Asked{"holds_lock", "gateways"}));
}

}  // namespace
}  // namespace rbdtier
