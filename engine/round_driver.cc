#include "engine/round_driver.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "engine/background_priority.h"

namespace rbdtier {

std::chrono::steady_clock::time_point RoundDriver::due_after(
    std::chrono::steady_clock::time_point now, std::uint64_t delay_us) {
    using std::chrono::microseconds;
    const Clock::time_point due = now + microseconds(delay_us);
    // The grid: about a tenth of the delay, one of a few steps shared by every registration.
    microseconds grid{0};
    if (delay_us >= 1'000'000) {
        grid = microseconds(100'000);
    } else if (delay_us >= 100'000) {
        grid = microseconds(10'000);
    } else if (delay_us >= 10'000) {
        grid = microseconds(1'000);
    } else {
        return due;
    }
    const auto since = due.time_since_epoch();
    const auto steps = (since + grid - Clock::duration(1)) / grid;  // rounded up
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(steps * grid));
}

RoundDriver::RoundDriver(std::size_t workers, Priority priority) {
    const std::size_t n = std::max<std::size_t>(workers, 1);
    threads_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this, priority] { work(priority); });
}

RoundDriver::~RoundDriver() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    due_changed_.notify_all();
    for (std::thread& t : threads_) t.join();
}

std::shared_ptr<RoundDriver> RoundDriver::process_wide(std::string_view tag, std::size_t workers,
                                                       Priority priority) {
    struct Slot {
        std::size_t workers;
        Priority priority;
        std::weak_ptr<RoundDriver> driver;
    };
    static std::mutex mutex;
    static std::map<std::string, Slot, std::less<>> slots;
    std::lock_guard lock(mutex);
    auto it = slots.find(tag);
    if (it == slots.end()) it = slots.emplace(std::string(tag), Slot{workers, priority, {}}).first;
    if (it->second.workers != workers)
        throw std::logic_error("RoundDriver::process_wide('" + std::string(tag) + "'): asked for " +
                               std::to_string(workers) + " workers, the tag has " +
                               std::to_string(it->second.workers));
    if (it->second.priority != priority)
        throw std::logic_error("RoundDriver::process_wide('" + std::string(tag) +
                               "'): asked for another priority than the tag has");
    if (auto driver = it->second.driver.lock()) return driver;
    auto driver = std::make_shared<RoundDriver>(workers, priority);
    it->second.driver = driver;
    return driver;
}

RoundDriver::Id RoundDriver::add(Round round) {
    std::lock_guard lock(mutex_);
    const Id id = next_id_++;
    const auto now = Clock::now();
    entries_.emplace(id, Entry{std::move(round), now, false, false, false, {}});
    schedule_.emplace(now, id);
    due_changed_.notify_one();
    return id;
}

void RoundDriver::remove(Id id) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    if (it->second.running && it->second.runner == std::this_thread::get_id())
        throw std::logic_error("RoundDriver::remove: a round cannot remove itself");
    if (!it->second.running) {
        schedule_.erase({it->second.due, id});
        entries_.erase(it);
        return;
    }
    // The round in progress is not rescheduled; wait for it to end.
    it->second.removing = true;
    round_ended_.wait(lock, [&] { return entries_.find(id) == entries_.end(); });
}

void RoundDriver::wake(Id id) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    if (it->second.running) {
        it->second.woken = true;  // the round in progress reschedules it for now
        return;
    }
    // The schedule's node is moved, not made again: no allocation.
    auto node = schedule_.extract({it->second.due, id});
    it->second.due = std::min(it->second.due, Clock::now());
    node.value().first = it->second.due;
    schedule_.insert(std::move(node));
    due_changed_.notify_one();
}

std::size_t RoundDriver::registered() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void RoundDriver::work(Priority priority) {
    if (priority == Priority::kBackground) make_this_thread_background();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (schedule_.empty()) {
            due_changed_.wait(lock);
            continue;
        }
        const auto [due, id] = *schedule_.begin();  // copies: the set node is taken out below
        if (due > Clock::now()) {
            due_changed_.wait_until(lock, due);
            continue;
        }
        // Out of the schedule while the round runs, and back in with its next due time: the
        // same node each time, so that a steady round allocates nothing here.
        auto node = schedule_.extract(schedule_.begin());
        Entry& entry = entries_.at(id);
        entry.running = true;
        entry.runner = std::this_thread::get_id();
        // Another worker may take the next one while this round runs.
        if (!schedule_.empty()) due_changed_.notify_one();
        const Round& round = entry.round;  // stable: map nodes do not move, remove() waits
        lock.unlock();
        const std::uint64_t delay_us = round();
        lock.lock();
        // The entry is still there: only this worker erases a running one.
        Entry& after = entries_.at(id);
        if (after.removing) {
            entries_.erase(id);
            round_ended_.notify_all();
            continue;
        }
        after.running = false;
        after.runner = {};
        // A wake() during the round makes the next one due at once.
        const auto now = Clock::now();
        after.due = after.woken ? now : due_after(now, delay_us);
        after.woken = false;
        node.value().first = after.due;
        schedule_.insert(std::move(node));
    }
}

}  // namespace rbdtier
