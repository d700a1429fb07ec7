// EventRing: a bounded lock-free multi-producer / single-consumer queue of IoEvents.
//
// Producers (I/O threads) call try_push() concurrently; it never blocks and never allocates:
// when the ring is full it returns false and the caller counts a drop. One consumer (the engine
// thread) calls try_pop(). Sequence-numbered slots (Vyukov's bounded queue): a producer claims
// a position with one CAS on the head, writes the event, then publishes it with a release store.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/io_event.h"

namespace rbdtier {

class EventRing {
public:
    // `capacity` is rounded up to a power of two (at least 2).
    explicit EventRing(std::size_t capacity);
    EventRing(const EventRing&) = delete;
    EventRing& operator=(const EventRing&) = delete;

    // Any thread. False when full (or, rarely, when contended: `contended` is then set).
    bool try_push(const IoEvent& event, bool& contended) noexcept {
        std::uint64_t pos = head_.load(std::memory_order_relaxed);
        for (;;) {
            Slot& slot = slots_[pos & mask_];
            const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
            const auto diff = static_cast<std::int64_t>(seq - pos);
            if (diff == 0) {
                if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    slot.event = event;
                    slot.seq.store(pos + 1, std::memory_order_release);
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
        Slot& slot = slots_[tail_ & mask_];
        const std::uint64_t seq = slot.seq.load(std::memory_order_acquire);
        if (seq != tail_ + 1) return false;
        out = slot.event;
        slot.seq.store(tail_ + mask_ + 1, std::memory_order_release);
        ++tail_;
        return true;
    }

    std::size_t capacity() const { return mask_ + 1; }

private:
    struct Slot {
        std::atomic<std::uint64_t> seq{0};
        IoEvent event;
    };
    std::unique_ptr<Slot[]> slots_;
    std::size_t mask_ = 0;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::uint64_t tail_ = 0;
};

}  // namespace rbdtier
