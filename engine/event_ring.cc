#include "engine/event_ring.h"

#include <algorithm>
#include <bit>

namespace rbdtier {

EventRing::EventRing(std::size_t capacity) {
    const std::size_t n = std::bit_ceil(std::max<std::size_t>(capacity, 2));
    slots_ = std::make_unique<Slot[]>(n);
    for (std::size_t i = 0; i < n; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
    mask_ = n - 1;
}

}  // namespace rbdtier
