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
    std::vector<bool> moved;
    reseat(old_capacity, moved);
}

void ExtentTable::reseat(std::size_t occupied, std::vector<bool>& moved) {
    // Every entry moves to the first slot from its index that holds no moved entry yet; an entry
    // not moved yet that sits there is taken out and moved next. Moved entries never move again
    // and are never passed over by an empty slot, so the probing rule holds. Slots at or beyond
    // capacity_ are never a destination: the scan takes their entries out before it ends.
    moved.assign(capacity_, false);
    for (std::size_t first = 0; first < occupied; ++first) {
        if ((first < capacity_ && moved[first]) || slots_[first].empty()) continue;
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
    const std::size_t old_capacity = capacity_;
    // One bit per slot: kept, then (reseat) moved.
    std::vector<bool> marks(old_capacity, false);
    std::size_t live = 0;
    for (std::size_t i = 0; i < old_capacity; ++i) {
        if (!slots_[i].empty() && keep(slots_[i])) {
            marks[i] = true;
            ++live;
        }
    }
    // At most 80% full, never more slots than it has.
    const std::size_t capacity =
        std::min(old_capacity, std::max<std::size_t>(16, live * 100 / 80 + 16));
    if (live == size_ && capacity == old_capacity) return;
    for (std::size_t i = 0; i < old_capacity; ++i)
        if (!marks[i]) slots_[i] = ExtentStats{};
    size_ = live;
    capacity_ = capacity;
    reseat(old_capacity, marks);
    // Gives back the slots beyond the new capacity, all empty now (should realloc refuse, the
    // array stays longer than capacity_, its tail unused).
    if (capacity < old_capacity) (void)resize_slots(capacity);
}

}  // namespace rbdtier
