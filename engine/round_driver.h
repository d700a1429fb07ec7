// RoundDriver: runs the periodic rounds of many tiered LUNs on a fixed pool of worker threads,
// so that a gateway's thread count does not grow with its LUN count.
//
// A round is a function registered with add(): it returns how many microseconds after it ended
// it wants to run again. It runs no sooner, and at most about a tenth of that later: the due time
// is rounded up to a grid (1 ms for delays from 10 ms, 10 ms from 100 ms, 100 ms from 1 s; a
// shorter delay is kept as it is), so that the rounds of many registrations (a gateway's idle
// LUNs, each due once a second) fall due together and run on one wake-up of the workers instead
// of waking them once each. Rounds run in the order they are due, each on one worker at a time
// (never two runs of one registration at once); a registration's first round is due at once.
// With more rounds due than workers, the later ones wait for a worker: a round that blocks holds
// its worker for that long (a tiered LUN's round plans and submits its migrations to the
// gateway's executor, engine/migration_executor.h, and blocks only when it has an executor of its
// own), so the pool is sized for the rounds that may block at once, the same for any number of
// LUNs.
//
// remove() ends a registration: when it returns, its round is not running and never runs again,
// so whatever the round uses may be destroyed. It waits for a round in progress: a round must
// not remove itself (remove() from within its own round throws std::logic_error). wake() makes
// a registration's next round due now.
//
// process_wide(tag, workers): the process's driver for `tag`, made by the first caller and
// destroyed (its workers joined) when the last holder lets go; the next caller then makes a new
// one. A tag always comes with the same worker count (another count throws std::logic_error).
// Thread-safe. shared() is the one of the tiered LUNs' rounds (tag kRoundsTag, kSharedWorkers),
// whose workers run at background priority (engine/background_priority.h) so that planning yields
// the CPU to the threads serving I/O; the watches of ceph/ have theirs (ceph/watch_hub.h), at the
// process's priority (they keep the LUNs' leases).
// The destructor requires every registration removed. A round must not throw (as the body of a
// thread of its own: it would end the process).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace rbdtier {

class RoundDriver {
public:
    using Id = std::uint64_t;
    // Runs one round; returns the microseconds until the next one is due.
    using Round = std::function<std::uint64_t()>;

    // Rounds that may block at once in the process's driver; also the gateway's migrations at
    // once (handler/gateway.h).
    static constexpr std::size_t kSharedWorkers = 4;

    // How a driver's workers are scheduled.
    enum class Priority { kProcess, kBackground };

    // `workers` threads (at least one), started at once, at `priority`.
    explicit RoundDriver(std::size_t workers, Priority priority = Priority::kProcess);
    ~RoundDriver();
    RoundDriver(const RoundDriver&) = delete;
    RoundDriver& operator=(const RoundDriver&) = delete;

    // The tag of shared(): every tiered LUN of a gateway registers its rounds there.
    static constexpr std::string_view kRoundsTag = "rounds";

    // A tag always comes with the same priority too.
    static std::shared_ptr<RoundDriver> process_wide(std::string_view tag, std::size_t workers,
                                                     Priority priority = Priority::kProcess);
    static std::shared_ptr<RoundDriver> shared() {
        return process_wide(kRoundsTag, kSharedWorkers, Priority::kBackground);
    }

    Id add(Round round);
    void remove(Id id);  // an unknown or removed id: nothing happens
    void wake(Id id);
    std::size_t workers() const { return threads_.size(); }

    // When a round that ended at `now` and asked for `delay_us` is due: at `now + delay_us`
    // rounded up to a grid of about a tenth of the delay (see the top of this file).
    static std::chrono::steady_clock::time_point due_after(
        std::chrono::steady_clock::time_point now, std::uint64_t delay_us);
    std::size_t registered() const;

private:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        Round round;
        Clock::time_point due;
        bool running = false;
        bool removing = false;   // remove() waits for the round in progress to end
        bool woken = false;      // wake() while running: the next round is due at once
        std::thread::id runner;  // while running
    };
    void work(Priority priority);

    mutable std::mutex mutex_;
    std::condition_variable due_changed_;  // a new or earlier round, or stopping
    std::condition_variable round_ended_;  // a removed entry's last round ended
    std::map<Id, Entry> entries_;
    std::set<std::pair<Clock::time_point, Id>> schedule_;  // entries not running, by due time
    Id next_id_ = 1;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace rbdtier
