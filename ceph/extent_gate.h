// ExtentGate: where each extent of a LUN lives right now, and who is using it.
//
// Shared by the I/O path and the migration executor of one LUN. For every extent it keeps the
// index of the tier image that holds it, the number of sub-I/Os in flight on it, a hold flag and a
// write version (bumped by every completed write, discard or write-same).
//
// I/O path: enter(e) returns the tier to send the sub-I/O to, or nothing if the extent is held by
// a migration commit, in which case the caller parks the sub-I/O with defer(); leave(e, wrote)
// when the sub-I/O completes. One CAS and one atomic add: no lock, no allocation.
// Executor: hold(e) stops new sub-I/Os, wait_drained(e) waits for those in flight, then it may
// compare write versions and switch the tier with release(e, tier), which also restarts the
// parked sub-I/Os. Only one executor task works on an extent at a time. A held extent whose tier
// is not known (a commit whose outcome could not be learnt) is refused with refuse_held(e): it
// stays held, its parked sub-I/Os are restarted and every sub-I/O that meets it is refused
// (defer() says kRefused; the I/O path answers BUSY) until release() routes it.
// Extents beyond the capacity given at construction can be added with grow() at any time.
// Memory follows use: the per-extent words live in chunks of 4,096 extents (48 KiB), each
// allocated when the first sub-I/O, hold or routing change reaches one of its extents (one CAS
// installs it; readers of an extent whose chunk is absent see it at home, free, at version 0), so
// an idle LUN costs a few hundred bytes (its directory) whatever its size; a chunk stays until the
// gate goes.
// Placement epoch: bumped whenever the routing changes by another hand than a migration's own
// commit (release() with a new tier): reroute() that moves an extent (following the map on a
// reload, a notify or a takeover), set_tier(), and grow(). Whoever keeps counts of the extents
// per tier on top of the gate recounts from it when the epoch is not the one it counted at.
//
// Routing lease: the tiers the gate names are only trusted while its lease runs (a gateway that
// follows another's moves holds it while its watch on the map is known to be alive; a gate
// nobody renews keeps the lease it was built with: forever). Before routing a command the I/O
// path asks lease(now): kExpired parks the command with defer_until_routable() until
// extend_lease() (the routing was reloaded) or refuse() (reloading keeps failing: parked and new
// commands get kRefused, which the I/O path answers with BUSY, until the next extend_lease()),
// or fence() (this gateway's RADOS client is blocklisted: kFenced, answered as librbd answers a
// fenced client, until the next extend_lease()).
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rbdtier::ceph {

class ExtentGate {
public:
    using TierIndex = std::uint8_t;  // index into the LUN's tier images; 0 = home
    using Deferred = std::function<void()>;

    explicit ExtentGate(std::uint64_t extents);
    ~ExtentGate();
    ExtentGate(const ExtentGate&) = delete;
    ExtentGate& operator=(const ExtentGate&) = delete;

    // Makes room for `extents` extents (new ones start in the home tier). Never shrinks.
    void grow(std::uint64_t extents);
    std::uint64_t extents() const { return extents_.load(std::memory_order_acquire); }
    // See the top of this file. Read it before reading the tiers it covers.
    std::uint64_t placement_epoch() const {
        return placement_epoch_.load(std::memory_order_acquire);
    }

    // --- I/O path ---
    std::optional<TierIndex> enter(std::uint64_t extent);
    void leave(std::uint64_t extent, bool wrote);
    // Parks `resume` until the extent is released: kParked. kFree (`resume` not taken): the
    // extent is no longer held, the caller must enter() again. kRefused (not taken): the extent
    // is held and refused (refuse_held), the caller fails the sub-I/O with a retryable error.
    enum class Park { kParked, kFree, kRefused };
    Park defer(std::uint64_t extent, Deferred& resume);

    enum class Lease { kValid, kExpired, kRefused, kFenced };
    Lease lease(std::chrono::steady_clock::time_point now) const;
    // Parks `resume` until the lease is extended or refused. Returns false (and does not take
    // `resume`) if the lease is valid again: the caller must route again.
    bool defer_until_routable(Deferred& resume);

    // --- executor / map loading ---
    TierIndex tier(std::uint64_t extent) const;
    void set_tier(std::uint64_t extent, TierIndex tier);  // while not serving I/O, or held
    std::uint64_t write_version(std::uint64_t extent) const;
    std::uint32_t in_flight(std::uint64_t extent) const;
    void hold(std::uint64_t extent);
    // Waits until no sub-I/O is in flight on a held extent. False at the deadline.
    bool wait_drained(std::uint64_t extent, std::chrono::steady_clock::time_point deadline);
    // Ends the hold (and a refusal), optionally moving the extent to `new_tier`, and resumes
    // parked sub-I/Os.
    void release(std::uint64_t extent, std::optional<TierIndex> new_tier = std::nullopt);
    // The held extent's tier is not known: it stays held, parked sub-I/Os are resumed (they meet
    // the refusal) and defer() refuses it until release().
    void refuse_held(std::uint64_t extent);
    bool refused(std::uint64_t extent) const;
    // Routes the extent to `tier` the safe way (hold, drain, release to it) unless it is there
    // already. For whoever follows the map (a reload, a notify); not while an executor task
    // works on the extent. False if the drain timed out (the extent is moved anyway).
    bool reroute(std::uint64_t extent, TierIndex tier,
                 std::chrono::steady_clock::time_point deadline);

    // --- whoever keeps the routing current ---
    void suspend();  // the lease ends now: new commands park
    // Valid until `until`; resumes the parked commands.
    void extend_lease(std::chrono::steady_clock::time_point until);
    void refuse();  // parked and new commands are refused until the next extend_lease()
    void fence();   // the same, as fenced: this gateway's client is blocklisted

private:
    // state word: bits 0-7 tier, bit 8 held, bits 9-31 sub-I/Os in flight
    static constexpr std::uint32_t kTierMask = 0xff;
    static constexpr std::uint32_t kHeld = 1u << 8;
    static constexpr std::uint32_t kOneInFlight = 1u << 9;
    // Extent words in chunks of 4,096 extents (16 GiB of 4 MiB), allocated on first use; chunk
    // pointers in directories of 16 chunks (256 GiB), allocated by grow(); the table of
    // directories holds as many as the LUN's size needs (one up to 256 GiB; 4,096 for the
    // largest LUN, 1 PiB of 4 MiB extents).
    static constexpr std::uint64_t kChunkShift = 12;
    static constexpr std::uint64_t kChunkExtents = 1ull << kChunkShift;
    static constexpr std::uint64_t kDirectoryShift = 4;
    static constexpr std::uint64_t kDirectoryChunks = 1ull << kDirectoryShift;
    static constexpr std::uint64_t kMaxExtents = std::uint64_t{1} << 28;

    struct Chunk {
        std::atomic<std::uint32_t> state[kChunkExtents];
        std::atomic<std::uint64_t> version[kChunkExtents];
    };
    struct Directory {
        std::atomic<Chunk*> chunks[kDirectoryChunks];
    };
    // Directories never move: grow() publishes a new table holding the old one's directories and
    // the new ones, and keeps the table it replaced (a reader may still be using it) until the
    // gate goes. Immutable once published.
    struct DirectoryTable {
        std::vector<Directory*> directories;
        std::unique_ptr<DirectoryTable> replaced;
    };

    // The lookups below are inline: every sub-I/O takes them twice (enter, leave).
    // The slot of the extent's chunk (its directory exists: extent < extents()).
    std::atomic<Chunk*>& chunk_slot(std::uint64_t extent) const {
        assert(extent < extents());
        return table_.load(std::memory_order_acquire)
            ->directories[extent >> (kDirectoryShift + kChunkShift)]
            ->chunks[(extent >> kChunkShift) & (kDirectoryChunks - 1)];
    }
    // The extent's chunk, allocated if it was not yet (writers).
    Chunk& chunk(std::uint64_t extent) const {
        std::atomic<Chunk*>& slot = chunk_slot(extent);
        Chunk* existing = slot.load(std::memory_order_acquire);
        return existing != nullptr ? *existing : install_chunk(slot);
    }
    // Allocates the chunk of `slot` unless another thread installed one first; returns the one
    // installed.
    static Chunk& install_chunk(std::atomic<Chunk*>& slot);
    // The extent's chunk if it was allocated, else null (readers: the extent is untouched).
    const Chunk* find_chunk(std::uint64_t extent) const {
        return chunk_slot(extent).load(std::memory_order_acquire);
    }
    std::atomic<std::uint32_t>& state(std::uint64_t extent) const {
        return chunk(extent).state[extent & (kChunkExtents - 1)];
    }
    std::atomic<std::uint64_t>& version(std::uint64_t extent) const {
        return chunk(extent).version[extent & (kChunkExtents - 1)];
    }

    std::atomic<const DirectoryTable*> table_{nullptr};  // the current one (readers)
    std::unique_ptr<DirectoryTable> tables_;             // owns it and those it replaced
    std::atomic<std::uint64_t> extents_{0};
    std::atomic<std::uint64_t> placement_epoch_{0};
    void placement_changed() { placement_epoch_.fetch_add(1, std::memory_order_acq_rel); }

    // Slow path only: parked sub-I/Os, growth, and waiting for a drain.
    mutable std::mutex mutex_;
    std::condition_variable drained_;
    std::unordered_map<std::uint64_t, std::vector<Deferred>> parked_;
    std::unordered_set<std::uint64_t> refused_;  // held extents whose tier is not known

    // The lease: steady_clock nanoseconds it runs to, and whether expired means refused.
    std::atomic<std::int64_t> lease_until_ns_;
    std::atomic<Lease> refusal_{Lease::kExpired};             // what an ended lease means
    std::vector<Deferred> unroutable_;                        // under mutex_
    std::vector<Deferred> take_unroutable();                  // with mutex_ held
    std::vector<Deferred> take_parked(std::uint64_t extent);  // with mutex_ held
    void end_lease(Lease why);
};

}  // namespace rbdtier::ceph
