// ExtentTable: the sparse map (LUN, extent) -> ExtentStats of every tracked extent.
//
// Open addressing with linear probing over a flat array of 40-byte records (the key lives in
// the record), so a tracked extent costs its record plus the table's slack and an untracked
// (cold) extent costs nothing. Any capacity is allowed (index = fast range reduction of a
// mixed hash); growth is x1.25 at 88% load, so the load stays between 70% and 88% and a tracked
// extent costs at most 40 / 0.704 = 56.8 bytes, all slack included (a hit still takes ~5
// probes at the highest load). The table grows in place: its array is extended (realloc, which
// remaps a large one rather than copying it) and the entries are moved to their new slots within
// it, so growing never holds the old and the new array at once. No per-entry deletion:
// `rebuild()` keeps the entries a predicate accepts (idle eviction) and shrinks the table to 80%
// load, in place too: it drops the others, re-seats the kept ones within the array and gives its
// tail back (realloc), so the most it adds to the array is a bit per slot. A table nothing
// was inserted into holds no slots: the first insert allocates `initial_capacity` of them (the
// capacities, and so the slot order, are those of a table allocated when built). Not thread-safe;
// the engine thread owns it, and parallel readers may scan `slot(i)` for i < capacity() while
// nobody writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

#include "engine/extent_stats.h"

namespace rbdtier {

class ExtentTable {
public:
    explicit ExtentTable(std::size_t max_entries, std::size_t initial_capacity = 1024);

    ExtentStats* find(ExtentKey key);
    const ExtentStats* find(ExtentKey key) const;
    // The entry for `key`, created empty (last_tick 0) if absent; nullptr when the table holds
    // max_entries already.
    ExtentStats* find_or_insert(ExtentKey key);

    // Keeps only the entries for which keep(stats) is true (asked once per entry); shrinks to
    // hold them at 80% load, never grows. Pointers into the table are invalid after it.
    void rebuild(const std::function<bool(const ExtentStats&)>& keep);

    std::size_t size() const { return size_; }
    std::size_t capacity() const { return capacity_; }
    std::size_t max_entries() const { return max_entries_; }
    const ExtentStats& slot(std::size_t i) const { return slots_[i]; }
    // Memory held by the table (slots), in bytes.
    std::size_t memory_bytes() const { return capacity_ * sizeof(ExtentStats); }
    // Memory per tracked extent (records plus empty slots), in bytes.
    double bytes_per_extent() const {
        return size_ == 0 ? 0.0 : static_cast<double>(memory_bytes()) / static_cast<double>(size_);
    }

    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < capacity_; ++i)
            if (!slots_[i].empty()) f(slots_[i]);
    }

private:
    std::size_t index_of(ExtentKey key) const {
        const unsigned __int128 h = mix_key(key);
        return static_cast<std::size_t>((h * capacity_) >> 64);
    }
    void grow();
    // Moves the entries of slots [0, occupied) to their places for capacity_ (the array holds at
    // least max(occupied, capacity_) slots; those from capacity_ on end empty). `moved` is
    // scratch, one bit per slot.
    void reseat(std::size_t occupied, std::vector<bool>& moved);
    // The array holds `capacity` slots: those beyond the old capacity are empty, the others
    // keep their content. False (the table unchanged) when memory ran out.
    bool resize_slots(std::size_t capacity);

    struct Free {
        void operator()(ExtentStats* p) const { std::free(p); }
    };
    std::unique_ptr<ExtentStats[], Free> slots_;  // null until the first insert
    std::size_t capacity_ = 0;
    std::size_t size_ = 0;
    std::size_t max_entries_;
    std::size_t initial_capacity_;
};

}  // namespace rbdtier
