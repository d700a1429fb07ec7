// LockProbe: what a tiered LUN knows of its exclusive lock without asking the cluster, and when
// its rounds ask; holds_exclusive_lock(): the asking itself, as the lock callouts, the rounds, the
// commits' checks and the service map read the answer.
//
// Asking is a round trip to an OSD (librbd's rbd_is_exclusive_lock_owner pings the image
// header with lock.assert_locked, every call). Whoever asks records the answer here (answered(),
// with the time the ask started: of answers that cross, the one asked last wins), so one answer
// serves every reader. The rounds ask before they plan only when the answer they have is stale
// (should_ask): never asked, a note_may_take() since it, or older than `period`. A round that has
// something to move asks again for itself before it moves it, and every commit asks before it
// writes (engine/lun_ownership.h): what the lock allows is never decided on an old answer; an
// old answer only decides whether a round plans. So an idle LUN's rounds cost the cluster one
// request per `period` at most, holder or standby, and none while another asker (the service
// map, every few seconds) keeps the answer younger than that; a lock lost by the holder (broken
// by a peer, blocklisted) shows within `period`, or within the service map's own period.
// A standby (the last answer was "not held") cannot start to hold the lock by itself: only this
// process takes it, by the lock callout or by librbd's implicit acquisition on a command that
// writes. So its rounds ask again at once when such a callout has taken the lock or such a
// command has completed (note_may_take(), made after the take: a round that asked between an
// earlier note and the take would consume it and hear "not held").
//
// Whoever shows the lock (the gateway's service map) asks known_not_held() first: a LUN whose
// last answer was "not held", younger than twice `period`, with no note_may_take() since, is a
// standby by the same reasoning, and is shown so without a round trip (the rounds' answers keep
// that current: they renew it at their first round past the period, so a look in between does
// not ask for an answer about to come; a LUN whose rounds do not ask, untiered or paused, is
// asked once that is past).
//
// note_may_take() is called on the I/O path (each completed command that wrote): it is a relaxed
// load, and a store only on the first command after an answer. should_ask() is called by the
// LUN's rounds (one at a time); answered(), held() and known_not_held() from any thread.
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

    explicit LockProbe(Clock::duration period) : period_(period) {}

    // This process took, or may have taken, the lock (the lock callout took it, a command that
    // wrote completed): the next round asks.
    void note_may_take() noexcept {
        if (!may_take_.load(std::memory_order_relaxed))
            may_take_.store(true, std::memory_order_relaxed);
    }

    // Whether the round at `now` asks the cluster: never asked, a note_may_take() since the last
    // answer, or that answer `period` old.
    bool should_ask(Clock::time_point now) {
        if (may_take_.exchange(false, std::memory_order_relaxed)) return true;
        std::lock_guard lock(mutex_);
        return !asked_at_ || now - *asked_at_ >= period_;
    }

    // The answer to an ask that started at `asked_at` (an error counts as not held: it is asked
    // again at the next period or command); ignored when an answer asked later is recorded.
    void answered(bool held, Clock::time_point asked_at) {
        std::lock_guard lock(mutex_);
        if (asked_at_ && asked_at < *asked_at_) return;
        held_ = held;
        asked_at_ = asked_at;
    }

    // The last answer (false before the first).
    bool held() const {
        std::lock_guard lock(mutex_);
        return held_;
    }

    // Whether the lock is known not to be held at `now` without asking: the last answer was
    // "not held", less than twice `period` ago, and nothing noted since may have taken
    // it. Neither consumes a note nor counts as an answer. A take the rounds are asking about at
    // this moment (its note consumed, the answer not in yet) shows at the next look.
    bool known_not_held(Clock::time_point now) const {
        if (may_take_.load(std::memory_order_relaxed)) return false;
        std::lock_guard lock(mutex_);
        return asked_at_ && !held_ && now - *asked_at_ < 2 * period_;
    }

private:
    const Clock::duration period_;
    std::atomic<bool> may_take_{false};
    mutable std::mutex mutex_;
    bool held_ = false;
    std::optional<Clock::time_point> asked_at_;
};

}  // namespace rbdtier
