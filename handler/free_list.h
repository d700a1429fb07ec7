// FreeList<T>: a bounded set of reusable T, handed out and taken back without locks.
//
// acquire() returns a free slot or nullptr when all `capacity` are in use (the caller then falls
// back to the heap); release() returns a slot from this list. Any thread may acquire or release:
// the head is a (tag, index) pair updated by CAS, so a slot recycled between another thread's
// read and CAS cannot corrupt the list (no ABA). Slots are made only when needed: acquire() takes
// a released slot if there is one, else makes a new one (up to `capacity`), in chunks of
// kChunkSlots default-constructed T allocated by whichever thread first needs one of the chunk
// (one CAS installs it). So a list that was never used holds only its table of chunk pointers,
// and one used at most k at a time holds about k slots. A chunk that cannot be allocated makes
// acquire() return nullptr. Slots are reused as-is until the list goes: state a slot keeps
// (e.g. a vector's capacity) survives reuse, which is the point.
//
// Cost per acquire/release pair when one thread acquires and another releases (a command taken
// by a callout, given back by librbd's completion thread): the head's cache line and the slot's
// own (its link sits beside it, not in a table shared with the other slots of its chunk) pass
// between the two threads; nothing else the list holds is written.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace rbdtier {

template <typename T>
class FreeList {
public:
    static constexpr std::uint32_t kChunkSlots = 32;

    explicit FreeList(std::uint32_t capacity)
        : chunk_count_((capacity + kChunkSlots - 1) / kChunkSlots),
          chunks_(std::make_unique<std::atomic<Chunk*>[]>(chunk_count_)),
          capacity_(capacity) {
        for (std::uint32_t i = 0; i < chunk_count_; ++i) chunks_[i].store(nullptr);
    }
    ~FreeList() {
        for (std::uint32_t i = 0; i < chunk_count_; ++i) delete chunks_[i].load();
    }
    FreeList(const FreeList&) = delete;
    FreeList& operator=(const FreeList&) = delete;

    T* acquire() noexcept {
        // Indices are 1-based; 0 = end of the list of released slots.
        std::uint64_t head = head_.load(std::memory_order_acquire);
        while (true) {
            std::uint32_t index = static_cast<std::uint32_t>(head);
            if (index == 0) return make();
            std::uint64_t next = next_of(index).load(std::memory_order_relaxed);
            std::uint64_t desired = (((head >> 32) + 1) << 32) | next;
            if (head_.compare_exchange_weak(head, desired, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                return &slot_of(index);
            }
        }
    }

    void release(T* slot) noexcept {
        std::uint32_t index = index_of(slot);
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        while (true) {
            next_of(index).store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
            std::uint64_t desired = (((head >> 32) + 1) << 32) | index;
            if (head_.compare_exchange_weak(head, desired, std::memory_order_release,
                                            std::memory_order_relaxed)) {
                return;
            }
        }
    }

    bool owns(const T* slot) const noexcept { return index_of(slot) != 0; }
    std::uint32_t capacity() const noexcept { return capacity_; }

private:
    // A slot and its link (the 1-based index of the next released slot), side by side: the
    // link just before the slot's first bytes, which a slot's user touches first.
    struct Node {
        std::atomic<std::uint32_t> next{0};
        T slot;
    };
    struct Chunk {
        Node nodes[kChunkSlots];
    };

    // A slot never handed out before, its chunk allocated if need be; nullptr when `capacity`
    // slots exist already or the chunk cannot be allocated.
    T* make() noexcept {
        std::uint32_t made = made_.load(std::memory_order_relaxed);
        do {
            if (made >= capacity_) return nullptr;
        } while (!made_.compare_exchange_weak(made, made + 1, std::memory_order_relaxed));
        std::atomic<Chunk*>& entry = chunks_[made / kChunkSlots];
        Chunk* chunk = entry.load(std::memory_order_acquire);
        if (chunk == nullptr) {
            Chunk* fresh = new (std::nothrow) Chunk;
            if (fresh == nullptr) return nullptr;  // out of memory: that slot is never made
            if (entry.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
                chunk = fresh;
            } else {
                delete fresh;  // another thread installed it first
            }
        }
        return &chunk->nodes[made % kChunkSlots].slot;
    }

    // 1-based index of a slot of this list, 0 if it is none of them.
    std::uint32_t index_of(const T* slot) const noexcept {
        for (std::uint32_t c = 0; c < chunk_count_; ++c) {
            const Chunk* chunk = chunks_[c].load(std::memory_order_acquire);
            if (chunk == nullptr) continue;
            const auto first = reinterpret_cast<std::uintptr_t>(&chunk->nodes[0].slot);
            const auto at = reinterpret_cast<std::uintptr_t>(slot);
            if (at < first || at >= first + sizeof chunk->nodes) continue;
            const std::uintptr_t offset = at - first;
            if (offset % sizeof(Node) != 0) continue;  // inside a slot, not one
            return c * kChunkSlots + static_cast<std::uint32_t>(offset / sizeof(Node)) + 1;
        }
        return 0;
    }
    // The slot and link of a 1-based index of a slot handed out before (its chunk exists).
    Node& node_of(std::uint32_t index) noexcept {
        return chunks_[(index - 1) / kChunkSlots]
            .load(std::memory_order_acquire)
            ->nodes[(index - 1) % kChunkSlots];
    }
    T& slot_of(std::uint32_t index) noexcept { return node_of(index).slot; }
    std::atomic<std::uint32_t>& next_of(std::uint32_t index) noexcept {
        return node_of(index).next;
    }

    std::uint32_t chunk_count_;
    std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
    std::uint32_t capacity_;
    std::atomic<std::uint32_t> made_{0};  // slots handed out at least once
    // (tag, index) of the first released slot: written by every acquire and release, so on a
    // cache line of its own, apart from the chunk table that every one of them reads.
    alignas(64) std::atomic<std::uint64_t> head_{0};
};

}  // namespace rbdtier
