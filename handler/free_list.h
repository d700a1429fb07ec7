// FreeList<T>: a fixed set of preallocated T, handed out and taken back without locks.
//
// acquire() returns a free slot or nullptr when all are in use (the caller then falls back to
// the heap); release() returns a slot from this list. Any thread may acquire or release: the
// head is a (tag, index) pair updated by CAS, so a slot recycled between another thread's read
// and CAS cannot corrupt the list (no ABA). Slots are default-constructed once and reused
// as-is: state a slot keeps (e.g. a vector's capacity) survives reuse, which is the point.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace rbdtier {

template <typename T>
class FreeList {
public:
    explicit FreeList(std::uint32_t capacity)
        : slots_(std::make_unique<T[]>(capacity)),
          next_(std::make_unique<std::atomic<std::uint32_t>[]>(capacity)),
          capacity_(capacity) {
        // Chain 1 -> 2 -> ... -> capacity -> 0 (indices are 1-based; 0 = end).
        for (std::uint32_t i = 0; i < capacity; ++i) {
            next_[i].store(i + 1 < capacity ? i + 2 : 0, std::memory_order_relaxed);
        }
        head_.store(capacity > 0 ? 1 : 0, std::memory_order_release);
    }
    FreeList(const FreeList&) = delete;
    FreeList& operator=(const FreeList&) = delete;

    T* acquire() noexcept {
        std::uint64_t head = head_.load(std::memory_order_acquire);
        while (true) {
            std::uint32_t index = static_cast<std::uint32_t>(head);
            if (index == 0) return nullptr;
            std::uint64_t next = next_[index - 1].load(std::memory_order_relaxed);
            std::uint64_t desired = (((head >> 32) + 1) << 32) | next;
            if (head_.compare_exchange_weak(head, desired, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                return &slots_[index - 1];
            }
        }
    }

    void release(T* slot) noexcept {
        std::uint32_t index = static_cast<std::uint32_t>(slot - slots_.get()) + 1;
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        while (true) {
            next_[index - 1].store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
            std::uint64_t desired = (((head >> 32) + 1) << 32) | index;
            if (head_.compare_exchange_weak(head, desired, std::memory_order_release,
                                            std::memory_order_relaxed)) {
                return;
            }
        }
    }

    bool owns(const T* slot) const noexcept {
        return slot >= slots_.get() && slot < slots_.get() + capacity_;
    }
    std::uint32_t capacity() const noexcept { return capacity_; }

private:
    std::unique_ptr<T[]> slots_;
    std::unique_ptr<std::atomic<std::uint32_t>[]> next_;
    std::uint32_t capacity_;
    std::atomic<std::uint64_t> head_{0};
};

}  // namespace rbdtier
