#include "engine/extent_table.h"

#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace rbdtier {

// The array is moved by realloc.
static_assert(std::is_trivially_copyable_v<ExtentStats>);

ExtentTable::ExtentTable(std::size_t max_entries, std::size_t initial_capacity)
    : max_entries_(max_entries), initial_capacity_(std::max<std::size_t>(initial_capacity, 16)) {}

ExtentStats* ExtentTable::find(ExtentKey key) {
    return const_cast<ExtentStats*>(static_cast<const ExtentTable*>(this)->find(key));
}

const ExtentStats* ExtentTable::find(ExtentKey key) const {
    const std::size_t cap = capacity_;
    std::size_t i = index_of(key);
    for (std::size_t probes = 0; probes < cap; ++probes) {
        const ExtentStats& s = slots_[i];
        if (s.key == key) return &s;
        if (s.empty()) return nullptr;
        if (++i == cap) i = 0;
    }
    return nullptr;
}

ExtentStats* ExtentTable::find_or_insert(ExtentKey key) {
    if (ExtentStats* s = find(key)) return s;
    if (size_ >= max_entries_) return nullptr;
    if (capacity_ == 0 && !resize_slots(initial_capacity_)) throw std::bad_alloc();
    if ((size_ + 1) * 100 > capacity_ * 88) grow();
    std::size_t i = index_of(key);
    while (!slots_[i].empty()) {
        if (++i == capacity_) i = 0;
    }
    slots_[i] = ExtentStats{};
    slots_[i].key = key;
    ++size_;
    return &slots_[i];
}

void ExtentTable::insert_fresh(const ExtentStats& stats) {
    std::size_t i = index_of(stats.key);
    while (!slots_[i].empty()) {
        if (++i == capacity_) i = 0;
    }
    slots_[i] = stats;
    ++size_;
}

bool ExtentTable::resize_slots(std::size_t capacity) {
    void* grown = std::realloc(slots_.get(), capacity * sizeof(ExtentStats));
    if (grown == nullptr) return false;
    (void)slots_.release();
    slots_.reset(static_cast<ExtentStats*>(grown));
    std::uninitialized_fill(slots_.get() + std::min(capacity_, capacity), slots_.get() + capacity,
                            ExtentStats{});
    capacity_ = capacity;
    return true;
}

void ExtentTable::grow() {
    const std::size_t old_capacity = capacity_;
    if (!resize_slots(old_capacity + old_capacity / 4 + 16)) throw std::bad_alloc();
    // Every entry moves to the first slot from its new index that holds no moved entry yet; an
    // entry not moved yet that sits there is taken out and moved next. Moved entries never move
    // again and are never passed over by an empty slot, so the probing rule holds.
    std::vector<bool> moved(capacity_, false);
    for (std::size_t first = 0; first < old_capacity; ++first) {
        if (moved[first] || slots_[first].empty()) continue;
        ExtentStats moving = slots_[first];
        slots_[first] = ExtentStats{};
        for (;;) {
            std::size_t i = index_of(moving.key);
            while (moved[i]) {
                if (++i == capacity_) i = 0;
            }
            moved[i] = true;
            if (slots_[i].empty()) {
                slots_[i] = moving;
                break;
            }
            std::swap(moving, slots_[i]);
        }
    }
}

void ExtentTable::rebuild(const std::function<bool(const ExtentStats&)>& keep) {
    std::size_t live = 0;
    for (std::size_t i = 0; i < capacity_; ++i)
        if (!slots_[i].empty() && keep(slots_[i])) ++live;
    const std::unique_ptr<ExtentStats[], Free> old = std::move(slots_);
    const std::size_t old_capacity = std::exchange(capacity_, 0);
    if (!resize_slots(std::max<std::size_t>(16, live * 100 / 80 + 16))) throw std::bad_alloc();
    size_ = 0;
    for (std::size_t i = 0; i < old_capacity; ++i)
        if (!old[i].empty() && keep(old[i])) insert_fresh(old[i]);
}

}  // namespace rbdtier
