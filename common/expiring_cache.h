// ExpiringCache: values kept by key for a bounded age and shared by the threads of a process, so
// that what is costly to learn (an answer of the cluster, a connected client) is learnt once per
// key and max age, not once per user.
//
// An entry is handed out while it is younger than max_age, counted from when it was stored:
// store() replaces the value and its age starts again; update() changes the value in place and
// keeps its age (a key without a live entry starts from a default value, stored then). Entries as
// old as max_age are never handed out and are dropped whenever a value is stored, so the cache
// holds what was stored within one max age (and what was stored last, until the next store).
// Time is the caller's: every call that depends on it takes `now` (steady clock), so a test
// drives expiry with its own times.
// Thread-safe: every member may be called from any thread. Values are copied in and out under the
// cache's lock (keep them small: facts, samples, shared pointers); whatever computes a value runs
// outside it, so two threads may compute one key's value at the same time (the last store wins).
// update()'s `change` and erase_if()'s `drop` run under the lock: quick, and never calling the
// cache.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace rbdtier {

template <typename Key, typename Value>
class ExpiringCache {
public:
    using Clock = std::chrono::steady_clock;

    // Clock::duration::max(): entries are kept until replaced or erased.
    explicit ExpiringCache(Clock::duration max_age) : max_age_(max_age) {}
    ExpiringCache(const ExpiringCache&) = delete;
    ExpiringCache& operator=(const ExpiringCache&) = delete;

    Clock::duration max_age() const { return max_age_; }

    // The value of `key` if it was stored less than max_age before `now`.
    std::optional<Value> find(const Key& key, Clock::time_point now) const {
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(key);
        if (it == entries_.end() || expired(it->second, now)) return std::nullopt;
        return it->second.value;
    }

    // `key` holds `value` from `now` on.
    void store(const Key& key, Value value, Clock::time_point now) {
        std::lock_guard lock(mutex_);
        drop_expired(now);
        entries_.insert_or_assign(key, Entry{std::move(value), now});
    }

    // Calls change(Value&) on the value of `key`: the one kept, its age unchanged, or (none
    // younger than max_age) a default Value stored at `now`.
    template <typename Change>
    void update(const Key& key, Clock::time_point now, Change&& change) {
        std::lock_guard lock(mutex_);
        drop_expired(now);
        auto it = entries_.try_emplace(key, Entry{Value{}, now}).first;
        change(it->second.value);
    }

    // Drops every entry for which drop(key, value) is true; how many.
    template <typename Drop>
    std::size_t erase_if(Drop&& drop) {
        std::lock_guard lock(mutex_);
        return std::erase_if(entries_,
                             [&](const auto& e) { return drop(e.first, e.second.value); });
    }

    void erase(const Key& key) {
        std::lock_guard lock(mutex_);
        entries_.erase(key);
    }

    void clear() {
        std::lock_guard lock(mutex_);
        entries_.clear();
    }

    // Entries held, those expired since the last store included.
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return entries_.size();
    }

private:
    struct Entry {
        Value value;
        Clock::time_point stored;
    };
    bool expired(const Entry& entry, Clock::time_point now) const {
        return now - entry.stored >= max_age_;
    }
    void drop_expired(Clock::time_point now) {
        std::erase_if(entries_, [&](const auto& e) { return expired(e.second, now); });
    }

    const Clock::duration max_age_;
    mutable std::mutex mutex_;
    std::map<Key, Entry> entries_;
};

}  // namespace rbdtier
