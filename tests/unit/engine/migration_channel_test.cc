#include "engine/migration_channel.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/io_events.h"

namespace rbdtier {
namespace {

using test_events::kE;

// Orders promoting extents 0..n-1 from tier 1 home.
std::vector<MigrationOrder> orders(ExtentIndex n) {
    std::vector<MigrationOrder> out;
    for (ExtentIndex e = 0; e < n; ++e) out.push_back(test_events::order(e, 1, 0));
    return out;
}

// Drives a channel and records what happened, admitting everything except `refuse`.
struct Driver {
    explicit Driver(ChannelSpec spec) : channel(spec, 0) {}
    void advance(std::uint64_t now) { channel.advance(now, owner()); }
    // What the channel asks of the driver and tells it, as advance() gives them.
    MigrationChannel::Owner owner() {
        return {[this](const MigrationOrder& o, std::uint64_t t) {
                    if (o.extent == refuse) return false;
                    started.push_back({o.extent, t});
                    return true;
                },
                [this](const MigrationOrder& o, std::uint64_t) { refused.push_back(o.extent); },
                [this](const MigrationChannel::Flight& f) {
                    completed.push_back({f.order.extent, f.finish_us});
                }};
    }
    MigrationChannel channel;
    ExtentIndex refuse = ~ExtentIndex{0};
    std::vector<std::pair<ExtentIndex, std::uint64_t>> started, completed;
    std::vector<ExtentIndex> refused;
};

ChannelSpec spec(double extents_per_s, unsigned concurrent, std::uint64_t bucket_extents = 0) {
    ChannelSpec s;
    s.bandwidth_bytes_per_s = extents_per_s * kE;
    s.bucket_bytes = bucket_extents * kE;
    s.max_concurrent = concurrent;
    s.extent_bytes = kE;
    return s;
}

// A round as a live LUN's: what is due completes first, the orders not started are withdrawn
// before the plan, which sees only the migrations in flight, and the plan's orders start as soon
// as a slot allows.
TEST(MigrationChannel, ARoundWithdrawsWhatHasNotStartedBeforeItPlans) {
    Driver d(spec(10, 1));  // 100 ms per extent, one at a time
    d.channel.replace_queue(orders(3), 0);
    std::vector<ExtentIndex> withdrawn;
    std::vector<ExtentIndex> held_at_plan;
    // At 150 ms extent 0 has completed (100 ms), extent 1 is in flight until 200 ms.
    const std::size_t planned = d.channel.round(
        150'000, [&](const MigrationOrder& o, std::uint64_t) { withdrawn.push_back(o.extent); },
        [&] {
            d.channel.each_held([&](const MigrationOrder& o) { held_at_plan.push_back(o.extent); });
            EXPECT_EQ(withdrawn, std::vector<ExtentIndex>{2}) << "withdrawn before the plan";
            return std::vector<MigrationOrder>{test_events::order(7, 1, 0)};
        },
        d.owner());
    EXPECT_EQ(planned, 1u);
    EXPECT_EQ(held_at_plan, std::vector<ExtentIndex>{1});
    ASSERT_EQ(d.completed.size(), 1u);
    d.advance(200'000);
    ASSERT_EQ(d.started.size(), 3u);
    EXPECT_EQ(d.started[2], (std::pair<ExtentIndex, std::uint64_t>{7, 200'000}));
}

TEST(MigrationChannel, OneSlotStartsTheNextOrderWhenTheLastCompletes) {
    Driver d(spec(10, 1));  // 100 ms per extent
    d.channel.replace_queue(orders(3), 0);
    d.advance(1'000'000);
    ASSERT_EQ(d.started.size(), 3u);
    EXPECT_EQ(d.started[0].second, 0u);
    EXPECT_EQ(d.started[1].second, 100'000u);
    EXPECT_EQ(d.started[2].second, 200'000u);
    ASSERT_EQ(d.completed.size(), 3u);
    EXPECT_EQ(d.completed[2].second, 300'000u);
    EXPECT_EQ(d.channel.in_flight(), 0u);
}

TEST(MigrationChannel, ManySlotsShareOneLink) {
    Driver d(spec(10, 8));
    d.channel.replace_queue(orders(4), 0);
    d.advance(0);
    EXPECT_EQ(d.started.size(), 4u);  // all start at once...
    EXPECT_EQ(d.channel.in_flight(), 4u);
    d.advance(1'000'000);
    ASSERT_EQ(d.completed.size(), 4u);  // ...and complete one link turn after another
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(d.completed[i].second, (i + 1) * 100'000u);
}

TEST(MigrationChannel, AnEmptyBucketDelaysTheStartUntilItRefills) {
    Driver d(spec(2, 8, 1));  // bucket of one extent, refilled in 500 ms
    d.channel.replace_queue(orders(3), 0);
    d.advance(999'999);
    ASSERT_EQ(d.started.size(), 2u);
    EXPECT_EQ(d.started[0].second, 0u);
    EXPECT_EQ(d.started[1].second, 500'000u);
    d.advance(1'000'000);
    ASSERT_EQ(d.started.size(), 3u);
    EXPECT_EQ(d.started[2].second, 1'000'000u);
    EXPECT_LE(d.channel.bytes_started(), kE + 2 * kE);  // bucket + 1 s of bandwidth
}

TEST(MigrationChannel, ARefusedOrderLeavesTheQueueAndTheNextOneStarts) {
    Driver d(spec(10, 1));
    d.refuse = 1;
    d.channel.replace_queue(orders(3), 0);
    d.advance(1'000'000);
    EXPECT_EQ(d.refused, std::vector<ExtentIndex>{1});
    ASSERT_EQ(d.started.size(), 2u);
    EXPECT_EQ(d.started[1].first, 2u);
    EXPECT_EQ(d.started[1].second, 100'000u);
}

TEST(MigrationChannel, ANewQueueHandsBackWhatNeverStarted) {
    Driver d(spec(10, 1));
    d.channel.replace_queue(orders(5), 0);
    d.advance(150'000);  // two started (0 and 100 ms), one of them done
    const auto left = d.channel.replace_queue(orders(1), 150'000);
    ASSERT_EQ(left.size(), 3u);
    EXPECT_EQ(left.front().extent, 2u);
    d.advance(1'000'000);
    ASSERT_EQ(d.started.size(), 3u);
    EXPECT_EQ(d.started[2].first, 0u);
    EXPECT_EQ(d.started[2].second, 200'000u);  // when the slot frees
}

// A channel told a new spec: the migration in flight ends when it was due; the next ones start
// and take as long as the new spec says, the bucket holding no more than its new depth.
TEST(MigrationChannel, ANewSpecHoldsFromWhenItIsSet) {
    Driver d(spec(10, 4));  // 100 ms per extent, 4 at once, 10 extents of tokens
    d.channel.replace_queue(orders(1), 0);
    d.advance(0);
    ASSERT_EQ(d.started.size(), 1u);
    d.channel.set_spec(spec(2, 1), 50'000);  // 500 ms per extent, one at a time, 2 of tokens
    d.channel.replace_queue(orders(4), 50'000);
    d.advance(50'000);
    EXPECT_EQ(d.started.size(), 1u) << "the one slot is taken by the flight";
    d.advance(10'000'000);
    ASSERT_EQ(d.completed.size(), 5u);
    EXPECT_EQ(d.completed[0].second, 100'000u) << "in flight: as it was due";
    // Then the new queue's four, one at a time, 500 ms each.
    EXPECT_EQ(d.started[1].second, 100'000u);
    EXPECT_EQ(d.completed[1].second, 600'000u);
    EXPECT_EQ(d.started[2].second, 600'000u);
    EXPECT_EQ(d.completed[2].second, 1'100'000u);
    EXPECT_EQ(d.started[3].second, 1'100'000u);
    EXPECT_EQ(d.completed[4].second, 2'100'000u);
}

}  // namespace
}  // namespace rbdtier
