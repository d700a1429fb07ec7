// Profiler: takes in every completed I/O cheaply, by one of two intakes; the engine drains it.
//
// Two intakes, for the two kinds of caller:
//  - record(), concurrent: may be called from any number of I/O threads at once. It copies the
//    40-byte event into one of a few lock-free rings (a thread sticks to one ring and moves on
//    when it meets contention), never blocks; when every ring it tries is full the event is
//    dropped and counted. The rings (EngineConfig::profiler_shards of profiler_ring_events each)
//    are built by the first record(): a profiler fed only through append() holds none.
//  - append(), serialized: for a caller that is already serialized with drain() (a placement
//    policy's observe(), on its rounds' thread). The event is appended, in order, to the batch
//    the next drain() folds: no ring, no atomic. It holds at most as many events between two
//    drains as the rings would (profiler_shards x profiler_ring_events); past that the event is
//    dropped and counted.
// drain() runs on the engine thread only: it takes the appended events and empties the rings,
// sorts the batch by time (ties keep their order of arrival within an intake's run) and folds it
// into per-extent statistics (ExtentTable), per-(LUN, initiator) statistics and per-LUN load
// series, then returns the sorted batch for the other consumers (forecasters, anomaly
// detection). The same events in the same order give the same batch and the same statistics
// by append() as by record() from one thread.
// Thread-safety: record(), dropped() and ring_bytes() from any thread; everything else (append()
// included) on the engine thread, one call at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/engine_config.h"
#include "engine/event_ring.h"
#include "engine/extent_table.h"

namespace rbdtier {

// One (LUN, initiator) stream.
struct InitiatorStats {
    std::uint64_t ios = 0;
    std::uint64_t bytes = 0;
    std::uint64_t reads = 0;
    std::uint64_t writes = 0;
    std::uint64_t sequential_ios = 0;  // started where the previous I/O of the stream ended
    std::uint64_t next_offset = 0;     // end of the previous I/O
    std::uint64_t first_us = 0;
    std::uint64_t last_us = 0;
    double sequential_fraction() const {
        return ios == 0 ? 0.0 : static_cast<double>(sequential_ios) / static_cast<double>(ios);
    }
};

// Aggregate load of one LUN: accesses per bucket over a long window (for LUN-level models).
struct LunStats {
    static constexpr std::size_t kSeriesBuckets = 512;
    std::uint64_t ios = 0;
    std::uint64_t bytes = 0;
    std::uint64_t first_bucket = 0;
    std::uint64_t newest_bucket = 0;
    std::vector<std::uint32_t> ring = std::vector<std::uint32_t>(kSeriesBuckets, 0);
    // Counts of buckets [now_bucket - n + 1, now_bucket], oldest first; buckets before the
    // LUN's first access are omitted (so the result may be shorter than n).
    std::vector<double> series(std::uint64_t now_bucket, std::size_t n) const;
};

class Profiler {
public:
    explicit Profiler(const EngineConfig& config);
    ~Profiler();
    Profiler(const Profiler&) = delete;
    Profiler& operator=(const Profiler&) = delete;

    // Concurrent intake, any thread (the first call builds the rings).
    void record(const IoEvent& event) noexcept;
    // Serialized intake, engine thread: `event` joins the batch the next drain() folds.
    void append(const IoEvent& event) noexcept;
    // Events either intake dropped (full, or out of memory).
    std::uint64_t dropped() const;
    // Heap bytes the concurrent intake's rings hold (0 until the first record()).
    std::size_t ring_bytes() const;

    // Engine thread: fold everything taken in so far; returns the batch sorted by time, valid
    // until the next drain() or append().
    std::span<const IoEvent> drain(std::uint64_t now_us);

    // Forget extents idle since before `now_us - idle_us` (and entries never accessed that
    // are older than that): their memory is returned.
    void evict_idle(std::uint64_t now_us, std::uint64_t idle_us);

    ExtentTable& extents() { return extents_; }
    const ExtentTable& extents() const { return extents_; }
    const std::unordered_map<std::uint64_t, InitiatorStats>& initiators() const {
        return initiators_;
    }
    const InitiatorStats* initiator(LunId lun, InitiatorId initiator) const;
    const std::unordered_map<LunId, LunStats>& luns() const { return luns_; }

    std::uint32_t bucket_ticks() const { return bucket_ticks_; }
    std::uint64_t bucket_of(std::uint64_t time_us) const {
        return to_tick(time_us) / bucket_ticks_;
    }
    std::uint64_t recorded() const { return folded_; }
    // Accesses folded in to an extent the table had no room for (it held max_tracked_extents):
    // that extent is not profiled.
    std::uint64_t untracked() const { return untracked_; }
    std::uint64_t last_untracked_us() const { return last_untracked_us_; }
    // Memory per tracked extent, including the table's empty slots.
    double bytes_per_extent() const { return extents_.bytes_per_extent(); }
    static constexpr std::size_t record_bytes() { return sizeof(ExtentStats); }

    static std::uint64_t stream_key(LunId lun, InitiatorId initiator) {
        return (static_cast<std::uint64_t>(lun) << 32) | initiator;
    }

private:
    struct alignas(64) Shard {
        explicit Shard(std::size_t capacity) : ring(capacity) {}
        EventRing ring;
        alignas(64) std::atomic<std::uint64_t> dropped{0};
    };
    // The concurrent intake's rings, built once, by the first record().
    struct Rings {
        Rings(std::size_t shard_count, std::size_t events_per_ring);
        std::vector<std::unique_ptr<Shard>> shards;
    };
    // The rings, built first if no record() did yet (null: out of memory).
    Rings* rings_for_record() noexcept;
    std::uint16_t compact_initiator(InitiatorId id);
    void fold(const IoEvent& e);

    std::uint64_t extent_bytes_;
    std::uint32_t bucket_ticks_;
    std::uint32_t episode_gap_ticks_;
    std::size_t shard_count_;
    std::size_t ring_events_;
    std::size_t append_capacity_;            // events the serialized intake holds between drains
    std::atomic<Rings*> rings_{nullptr};     // owned; null until the first record()
    std::atomic<std::uint64_t> dropped_{0};  // dropped outside the rings' shards
    ExtentTable extents_;
    std::unordered_map<std::uint64_t, InitiatorStats> initiators_;
    std::unordered_map<LunId, LunStats> luns_;
    std::unordered_map<InitiatorId, std::uint16_t> compact_ids_;
    // The appended events until the next drain(); from a drain() on, the batch it folded (until
    // the next append() or drain() starts a new one: batch_folded_).
    std::vector<IoEvent> batch_;
    bool batch_folded_ = false;
    std::uint64_t folded_ = 0;
    std::uint64_t untracked_ = 0;
    std::uint64_t last_untracked_us_ = 0;
};

}  // namespace rbdtier
