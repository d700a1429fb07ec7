// MigrationChannel: the model of a migration executor's budget, shared by the replay simulator
// and the strategy selector's shadow placements so that both execute orders the same way.
//
// A round's orders wait in a queue, best first, and each starts as soon as the channel allows
// it: a slot free (at most max_concurrent in flight) and one extent of tokens in a bucket
// refilled continuously at the bandwidth (a TokenBucket, depth bucket_bytes). Started
// migrations share one link: each occupies it for extent_bytes / bandwidth, one after another,
// and completes at the end of its turn. The next round's orders replace whatever of the queue
// has not started (those are handed back, to be told dropped). The owner decides, when an order
// reaches the head of the queue, whether it may start at all (capacity, quota, stale source): a
// refused order leaves the queue and the next one is tried at once.
// A round (round()) runs as a live LUN's round does (engine/lun_rounds.h): the orders of the last
// round that have not started are withdrawn before the policy plans again, and what the policy
// plans against lists the migrations the channel holds then (each_held(): those in flight), so a
// replay and a shadow placement that run their rounds through it plan as the gateway's LUN does.
// Events are processed in time order by advance(): completions and starts interleave exactly.
// Times are microseconds on the caller's clock, never decreasing. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "engine/placement_policy.h"
#include "engine/token_bucket.h"

namespace rbdtier {

class MigrationChannel {
public:
    struct Flight {
        MigrationOrder order;
        std::uint64_t start_us = 0;
        std::uint64_t finish_us = 0;
    };
    // Whether an order at the head of the queue may start at `now_us`; true commits the owner
    // to the migration (it reserves what it must).
    using Admit = std::function<bool(const MigrationOrder& order, std::uint64_t now_us)>;
    // An order that left the queue without starting (refused by Admit).
    using Refused = std::function<void(const MigrationOrder& order, std::uint64_t now_us)>;
    // A started migration completed at flight.finish_us.
    using Completed = std::function<void(const Flight& flight)>;

    // What the channel asks of its owner and tells it, as advance() takes them.
    struct Owner {
        Admit admit;
        Refused refused;
        Completed completed;
    };

    // `spec`: engine/placement_policy.h.
    MigrationChannel(ChannelSpec spec, std::uint64_t start_us);
    // From `now_us` (after advance(now_us)) on, the channel is `spec`: the bucket keeps its level
    // (at most the new depth) and refills at the new bandwidth; migrations in flight end when
    // they were due, the later ones take the new time per extent.
    void set_spec(ChannelSpec spec, std::uint64_t now_us);

    // One round at `now_us`: advance(now_us), then the queue that has not started is withdrawn
    // (each order handed to `withdrawn`, which tells its policy it was dropped), then `plan` plans
    // (the channel holds only its migrations in flight then) and its orders are the queue, and
    // advance(now_us) starts those that may start at once. Returns how many orders it planned.
    std::size_t round(std::uint64_t now_us, const Refused& withdrawn,
                      const std::function<std::vector<MigrationOrder>()>& plan, const Owner& owner);

    // Replaces the queue with `orders` at `now_us` (after advance(now_us)); returns the orders
    // of the old queue that never started.
    std::vector<MigrationOrder> replace_queue(std::vector<MigrationOrder> orders,
                                              std::uint64_t now_us);
    // Processes every completion and start due up to `now_us`, in time order.
    void advance(std::uint64_t now_us, const Admit& admit, const Refused& refused,
                 const Completed& completed);
    void advance(std::uint64_t now_us, const Owner& owner) {
        advance(now_us, owner.admit, owner.refused, owner.completed);
    }

    // Calls each(order) for every order started and not completed, then every order queued.
    void each_held(const std::function<void(const MigrationOrder&)>& each) const {
        for (const Flight& f : flights_) each(f.order);
        for (const MigrationOrder& o : queue_) each(o);
    }
    std::size_t in_flight() const { return flights_.size(); }
    std::size_t queued() const { return queue_.size(); }
    // Bytes started so far (for invariant checks against bandwidth x time + bucket).
    std::uint64_t bytes_started() const { return bytes_started_; }
    double bucket_bytes() const { return bucket_.depth(); }
    std::uint64_t extent_us() const { return extent_us_; }
    // Whether the head of the queue waits for tokens (as opposed to a slot), for statistics.
    bool short_of_tokens() const {
        return bucket_.level() < static_cast<double>(spec_.extent_bytes);
    }

private:
    // When the head of the queue could start (UINT64_MAX: nothing to start, or no slot).
    std::uint64_t next_start_us() const;

    ChannelSpec spec_;
    TokenBucket bucket_;
    std::uint64_t extent_us_ = 1;
    std::uint64_t clock_us_ = 0;  // the last time processed
    std::uint64_t link_free_us_ = 0;
    std::uint64_t bytes_started_ = 0;
    std::deque<MigrationOrder> queue_;
    std::deque<Flight> flights_;  // in finish order (the link serializes them)
};

}  // namespace rbdtier
