// EventRing: a bounded lock-free multi-producer / single-consumer queue of IoEvents.
//
// Producers (I/O threads) call try_push() concurrently; it never blocks: when the ring is full it
// returns false and the caller counts a drop. One consumer (the engine thread) calls try_pop().
// Sequence-numbered slots (Vyukov's bounded queue): a producer claims a position with one CAS on
// the head, writes the event, then publishes it with a release store, and asks the cache for the
// next position's slot (a hint, no store: the next push finds its line there).
// Memory follows use: the slots live in chunks of kChunkSlots, each allocated by the first
// producer that reaches it (one CAS installs it; a producer that loses the race frees its own),
// so a ring nobody writes to holds only its table of chunk pointers, and one that never held
// more than k events at a time holds about k slots until it wraps. A chunk stays until the ring
// goes. A chunk that cannot be allocated makes try_push() return false (a drop), never a throw.
// Capacity, order and the full/drop behaviour do not depend on the chunks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/io_event.h"

namespace rbdtier {

class EventRing {
public:
    static constexpr std::size_t kChunkSlots = 1024;

    // `capacity` is rounded up to a power of two (at least 2).
    explicit EventRing(std::size_t capacity);
    ~EventRing();
    EventRing(const EventRing&) = delete;
    EventRing& operator=(const EventRing&) = delete;

    // Any thread. False when full (or, rarely, when contended: `contended` is then set), or when
    // the slots of its position cannot be allocated.
    bool try_push(const IoEvent& event, bool& contended) noexcept {
        std::uint64_t pos = head_.load(std::memory_order_relaxed);
        for (;;) {
            Slot* slot = slot_for_push(pos);
            if (slot == nullptr) return false;  // out of memory: dropped
            const std::uint64_t seq = slot->seq.load(std::memory_order_acquire);
            const auto diff = static_cast<std::int64_t>(seq - pos);
            if (diff == 0) {
                if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    slot->event = event;
                    slot->seq.store(pos + 1, std::memory_order_release);
                    prefetch_for_push(pos + 1);
                    return true;
                }
                contended = true;
            } else if (diff < 0) {
                return false;  // full
            } else {
                pos = head_.load(std::memory_order_relaxed);
            }
        }
    }

    // Consumer thread only.
    bool try_pop(IoEvent& out) noexcept {
        const std::size_t index = tail_ & mask_;
        Slot* chunk = chunks_[index >> chunk_shift_].load(std::memory_order_acquire);
        if (chunk == nullptr) return false;  // nothing was ever written there
        Slot& slot = chunk[index & chunk_mask_];
        const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
        if (seq != tail_ + 1) return false;
        out = slot.event;
        slot.seq.store(tail_ + mask_ + 1, std::memory_order_release);
        ++tail_;
        return true;
    }

    std::size_t capacity() const { return mask_ + 1; }
    // Heap bytes the ring holds now: its chunk table and the chunks allocated so far.
    std::size_t bytes() const noexcept;

private:
    struct Slot {
        std::atomic<std::uint64_t> seq{0};
        IoEvent event;
    };

    // The slot of position `pos`, its chunk allocated first if no producer did yet (null: out
    // of memory).
    Slot* slot_for_push(std::uint64_t pos) noexcept {
        const std::size_t index = pos & mask_;
        Slot* chunk = chunks_[index >> chunk_shift_].load(std::memory_order_acquire);
        if (chunk == nullptr) chunk = allocate_chunk(index >> chunk_shift_);
        return chunk == nullptr ? nullptr : chunk + (index & chunk_mask_);
    }
    Slot* allocate_chunk(std::size_t chunk) noexcept;
    // Asks for the cache lines of position `pos`'s slot, for writing, if its chunk exists. The
    // ring's positions advance through more memory than the caches keep between two laps: a push
    // would otherwise wait for its slot's line (its sequence is read first), and the I/O thread's
    // next locked instruction for the event's store. Fetched now, they are there for the next push.
    void prefetch_for_push(std::uint64_t pos) const noexcept {
        const std::size_t index = pos & mask_;
        const Slot* chunk = chunks_[index >> chunk_shift_].load(std::memory_order_relaxed);
        if (chunk == nullptr) return;
        const char* slot = reinterpret_cast<const char*>(chunk + (index & chunk_mask_));
        __builtin_prefetch(slot, 1, 3);
        __builtin_prefetch(slot + sizeof(Slot) - 1, 1, 3);  // a slot may straddle two lines
    }

    std::size_t mask_ = 0;
    // A chunk holds min(kChunkSlots, capacity) slots, a power of two: a position's chunk and its
    // slot there are a shift and a mask, never a division (every push and pop takes them).
    std::size_t chunk_slots_ = 0;
    unsigned chunk_shift_ = 0;    // log2(chunk_slots_)
    std::size_t chunk_mask_ = 0;  // chunk_slots_ - 1
    std::size_t chunk_count_ = 0;
    std::unique_ptr<std::atomic<Slot*>[]> chunks_;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::uint64_t tail_ = 0;
};

}  // namespace rbdtier
