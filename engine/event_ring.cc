#include "engine/event_ring.h"

#include <algorithm>
#include <bit>
#include <new>

namespace rbdtier {

static_assert(std::has_single_bit(EventRing::kChunkSlots), "a chunk's slots are a power of two");

EventRing::EventRing(std::size_t capacity) {
    const std::size_t n = std::bit_ceil(std::max<std::size_t>(capacity, 2));
    mask_ = n - 1;
    chunk_slots_ = std::min(kChunkSlots, n);
    chunk_shift_ = static_cast<unsigned>(std::countr_zero(chunk_slots_));
    chunk_mask_ = chunk_slots_ - 1;
    chunk_count_ = n / chunk_slots_;
    chunks_ = std::make_unique<std::atomic<Slot*>[]>(chunk_count_);
    for (std::size_t i = 0; i < chunk_count_; ++i) chunks_[i].store(nullptr);
}

EventRing::~EventRing() {
    for (std::size_t i = 0; i < chunk_count_; ++i) delete[] chunks_[i].load();
}

EventRing::Slot* EventRing::allocate_chunk(std::size_t chunk) noexcept {
    Slot* fresh = new (std::nothrow) Slot[chunk_slots_];
    if (fresh == nullptr) return chunks_[chunk].load(std::memory_order_acquire);
    // A chunk is first reached on the ring's first lap: slot i starts at sequence i.
    const std::size_t base = chunk * chunk_slots_;
    for (std::size_t i = 0; i < chunk_slots_; ++i)
        fresh[i].seq.store(base + i, std::memory_order_relaxed);
    Slot* expected = nullptr;
    if (chunks_[chunk].compare_exchange_strong(expected, fresh, std::memory_order_acq_rel,
                                               std::memory_order_acquire))
        return fresh;
    delete[] fresh;  // another producer installed it first
    return expected;
}

std::size_t EventRing::bytes() const noexcept {
    std::size_t chunks = 0;
    for (std::size_t i = 0; i < chunk_count_; ++i)
        if (chunks_[i].load(std::memory_order_relaxed) != nullptr) ++chunks;
    return chunk_count_ * sizeof(std::atomic<Slot*>) + chunks * chunk_slots_ * sizeof(Slot);
}

}  // namespace rbdtier
