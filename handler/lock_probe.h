// LockProbe: when a tiered LUN's rounds ask the cluster whether this gateway holds the LUN's
// exclusive lock; holds_exclusive_lock(): the asking itself, as the lock callouts, the rounds and
// the admin side read the answer.
//
// Asking is a round trip to an OSD (librbd's rbd_is_exclusive_lock_owner pings the image
// header with lock.assert_locked, every call). The owner of a LUN asks every round: it may lose
// the lock at any time (broken by a peer, blocklisted) and must stop moving extents at once (the
// round's answer serves the round's checks: engine/lun_ownership.h). A standby (the last answer was
// "not held") cannot start to hold the lock by itself: only this process takes it, by the lock
// callout or by librbd's implicit acquisition on a command that writes. So a standby asks again
// at once when such a callout has taken the lock or such a command has completed
// (note_may_take(), made after the take: a round that asked between an earlier note and the take
// would consume it and hear "not held"), and otherwise once per `standby_period`, which bounds
// how late it notices a take-over by any other path. An idle standby LUN then costs the cluster
// no request per round, and N standby LUNs of a gateway load it with N / standby_period requests
// per second instead of N per round.
//
// Whoever else shows the lock (the gateway's service map) asks known_not_held() first: a LUN
// whose last answer was "not held", younger than twice `standby_period`, with no note_may_take()
// since, is a standby by the same reasoning, and is shown so without a round trip (the rounds'
// answers keep that current: they renew it at their first round past the period, so a look in
// between does not ask for an answer about to come; a LUN whose rounds do not ask, untiered or
// paused, is asked once that is past).
//
// note_may_take() is called on the I/O path (each completed command that wrote): it is a relaxed
// load, and a store only on the first command after an answer. should_ask() and answered() are
// called by the LUN's rounds (one at a time); known_not_held() from any thread (it only reads).
// Thread-safe in that use.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>

#include "ceph/image.h"

namespace rbdtier {

// Whether this client holds `image`'s exclusive lock: 1 = it does, 0 = it does not, or why it
// cannot tell: -ESHUTDOWN (this client is blocklisted), -ETIMEDOUT, -EIO (any other failure).
// A round trip to the image's header (synchronous).
inline int holds_exclusive_lock(const ceph::Image& image) {
    auto owner = image.is_exclusive_lock_owner();
    if (!owner) {
        const int rc = owner.status().code();
        return (rc == -ESHUTDOWN || rc == -ETIMEDOUT) ? rc : -EIO;
    }
    return *owner ? 1 : 0;
}

class LockProbe {
public:
    using Clock = std::chrono::steady_clock;

    explicit LockProbe(Clock::duration standby_period) : standby_period_(standby_period) {}

    // This process took, or may have taken, the lock (the lock callout took it, a command that
    // wrote completed): the next round asks.
    void note_may_take() noexcept {
        if (!may_take_.load(std::memory_order_relaxed))
            may_take_.store(true, std::memory_order_relaxed);
    }

    // Whether the round at `now` asks the cluster: never asked, held at the last answer, a
    // note_may_take() since that answer, or `standby_period` past it.
    bool should_ask(Clock::time_point now) {
        if (may_take_.exchange(false, std::memory_order_relaxed)) return true;
        std::lock_guard lock(mutex_);
        return !asked_at_ || held_ || now - *asked_at_ >= standby_period_;
    }

    // The answer the round got at `now` (an error counts as not held: it is asked again at the
    // next period or command).
    void answered(bool held, Clock::time_point now) {
        std::lock_guard lock(mutex_);
        held_ = held;
        asked_at_ = now;
    }

    // Whether the lock is known not to be held at `now` without asking: the last answer was
    // "not held", less than twice `standby_period` ago, and nothing noted since may have taken
    // it. Neither consumes a note nor counts as an answer. A take the rounds are asking about at
    // this moment (its note consumed, the answer not in yet) shows at the next look.
    bool known_not_held(Clock::time_point now) const {
        if (may_take_.load(std::memory_order_relaxed)) return false;
        std::lock_guard lock(mutex_);
        return asked_at_ && !held_ && now - *asked_at_ < 2 * standby_period_;
    }

    Clock::duration standby_period() const { return standby_period_; }

private:
    const Clock::duration standby_period_;
    std::atomic<bool> may_take_{false};
    mutable std::mutex mutex_;
    bool held_ = false;
    std::optional<Clock::time_point> asked_at_;
};

}  // namespace rbdtier
