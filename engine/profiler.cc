#include "engine/profiler.h"

#include <algorithm>
#include <functional>
#include <new>
#include <thread>

namespace rbdtier {

namespace {

// The ring this thread writes to; moves to the next ring on contention or when full.
std::size_t& thread_ring_hint() {
    thread_local std::size_t hint =
        static_cast<std::size_t>(mix_key(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    return hint;
}

}  // namespace

std::vector<double> LunStats::series(std::uint64_t now_bucket, std::size_t n) const {
    std::vector<double> out;
    n = std::min(n, kSeriesBuckets);
    if (ios == 0 || now_bucket < first_bucket) return out;
    const std::uint64_t avail = now_bucket - first_bucket + 1;
    const std::uint64_t count = std::min<std::uint64_t>(n, avail);
    out.reserve(count);
    for (std::uint64_t b = now_bucket + 1 - count; b <= now_bucket; ++b) {
        if (b > newest_bucket || newest_bucket - b >= kSeriesBuckets)
            out.push_back(0.0);
        else
            out.push_back(ring[b % kSeriesBuckets]);
    }
    return out;
}

Profiler::Rings::Rings(std::size_t shard_count, std::size_t events_per_ring) {
    shards.reserve(shard_count);
    for (std::size_t i = 0; i < shard_count; ++i)
        shards.push_back(std::make_unique<Shard>(events_per_ring));
}

Profiler::Profiler(const EngineConfig& config)
    : extent_bytes_(config.extent_bytes),
      bucket_ticks_(
          static_cast<std::uint32_t>(std::max<std::uint64_t>(1, config.bucket_us / kTickUs))),
      episode_gap_ticks_(static_cast<std::uint32_t>(config.episode_gap_us / kTickUs)),
      shard_count_(std::max<std::size_t>(1, config.profiler_shards)),
      ring_events_(config.profiler_ring_events),
      append_capacity_(shard_count_ * ring_events_),
      extents_(config.max_tracked_extents) {}

Profiler::~Profiler() {
    delete rings_.load(std::memory_order_acquire);
}

Profiler::Rings* Profiler::rings_for_record() noexcept {
    Rings* rings = rings_.load(std::memory_order_acquire);
    if (rings != nullptr) return rings;
    Rings* fresh = nullptr;
    try {
        fresh = new Rings(shard_count_, ring_events_);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
    if (rings_.compare_exchange_strong(rings, fresh, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        return fresh;
    delete fresh;  // another thread built them first
    return rings;
}

void Profiler::record(const IoEvent& event) noexcept {
    Rings* rings = rings_for_record();
    if (rings == nullptr) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto& shards = rings->shards;
    std::size_t& hint = thread_ring_hint();
    const std::size_t n = shards.size();
    for (std::size_t attempt = 0; attempt < n; ++attempt) {
        Shard& shard = *shards[hint % n];
        bool contended = false;
        if (shard.ring.try_push(event, contended)) {
            if (contended) ++hint;  // someone else writes here too: spread out next time
            return;
        }
        ++hint;  // full: try the next ring
    }
    shards[hint % n]->dropped.fetch_add(1, std::memory_order_relaxed);
}

void Profiler::append(const IoEvent& event) noexcept {
    if (batch_folded_) {
        batch_.clear();
        batch_folded_ = false;
    }
    if (batch_.size() >= append_capacity_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    try {
        batch_.push_back(event);
    } catch (const std::bad_alloc&) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
    }
}

std::uint64_t Profiler::dropped() const {
    std::uint64_t d = dropped_.load(std::memory_order_relaxed);
    if (const Rings* rings = rings_.load(std::memory_order_acquire))
        for (const auto& s : rings->shards) d += s->dropped.load(std::memory_order_relaxed);
    return d;
}

std::size_t Profiler::ring_bytes() const {
    const Rings* rings = rings_.load(std::memory_order_acquire);
    if (rings == nullptr) return 0;
    std::size_t bytes = sizeof(Rings) + rings->shards.capacity() * sizeof(rings->shards[0]);
    for (const auto& s : rings->shards) bytes += sizeof(Shard) + s->ring.bytes();
    return bytes;
}

const InitiatorStats* Profiler::initiator(LunId lun, InitiatorId initiator) const {
    auto it = initiators_.find(stream_key(lun, initiator));
    return it == initiators_.end() ? nullptr : &it->second;
}

std::uint16_t Profiler::compact_initiator(InitiatorId id) {
    auto [it, inserted] = compact_ids_.try_emplace(
        id, static_cast<std::uint16_t>(std::min<std::size_t>(compact_ids_.size(), 0x7FFE)));
    (void)inserted;
    return it->second;
}

std::span<const IoEvent> Profiler::drain(std::uint64_t now_us) {
    (void)now_us;
    if (batch_folded_) batch_.clear();  // nothing was appended since the last drain
    batch_folded_ = true;
    // The batch is made of runs: the appended events, in their order of arrival, then each
    // ring's. A run is usually in time order already (one writer thread, or writers that rarely
    // overtake each other): it is sorted only when it is not (stably: ties keep their order),
    // then the runs are merged.
    const auto by_time = [](const IoEvent& a, const IoEvent& b) { return a.time_us < b.time_us; };
    std::vector<std::size_t> run_ends;
    const auto end_run = [&](std::size_t start) {
        const auto first = batch_.begin() + static_cast<std::ptrdiff_t>(start);
        if (!std::is_sorted(first, batch_.end(), by_time))
            std::stable_sort(first, batch_.end(), by_time);
        if (batch_.size() > start) run_ends.push_back(batch_.size());
    };
    end_run(0);
    if (Rings* rings = rings_.load(std::memory_order_acquire)) {
        run_ends.reserve(rings->shards.size() + 1);
        IoEvent e;
        for (auto& shard : rings->shards) {
            const std::size_t start = batch_.size();
            while (shard->ring.try_pop(e)) batch_.push_back(e);
            end_run(start);
        }
    }
    // Bottom-up pairwise merges of adjacent runs.
    while (run_ends.size() > 1) {
        std::vector<std::size_t> merged;
        std::size_t begin = 0;
        for (std::size_t r = 0; r < run_ends.size(); r += 2) {
            if (r + 1 < run_ends.size()) {
                std::inplace_merge(batch_.begin() + static_cast<std::ptrdiff_t>(begin),
                                   batch_.begin() + static_cast<std::ptrdiff_t>(run_ends[r]),
                                   batch_.begin() + static_cast<std::ptrdiff_t>(run_ends[r + 1]),
                                   by_time);
                begin = run_ends[r + 1];
            } else {
                begin = run_ends[r];
            }
            merged.push_back(begin);
        }
        run_ends.swap(merged);
    }
    for (const auto& ev : batch_) fold(ev);
    return batch_;
}

void Profiler::fold(const IoEvent& e) {
    ++folded_;
    const std::uint32_t tick = to_tick(e.time_us);
    auto& stream = initiators_[stream_key(e.lun, e.initiator)];
    const bool sequential = stream.ios > 0 && e.offset == stream.next_offset;
    if (stream.ios == 0) stream.first_us = e.time_us;
    ++stream.ios;
    stream.bytes += e.length;
    if (e.op == IoOp::kRead)
        ++stream.reads;
    else
        ++stream.writes;
    if (sequential) ++stream.sequential_ios;
    stream.next_offset = e.offset + e.length;
    stream.last_us = std::max(stream.last_us, e.time_us);

    auto& lun = luns_[e.lun];
    const std::uint64_t b = tick / bucket_ticks_;
    if (lun.ios == 0) {
        lun.first_bucket = b;
        lun.newest_bucket = b;
    }
    if (b > lun.newest_bucket) {
        const std::uint64_t clear =
            std::min<std::uint64_t>(b - lun.newest_bucket, LunStats::kSeriesBuckets);
        for (std::uint64_t i = 1; i <= clear; ++i)
            lun.ring[(lun.newest_bucket + i) % LunStats::kSeriesBuckets] = 0;
        lun.newest_bucket = b;
    }
    if (lun.newest_bucket - b < LunStats::kSeriesBuckets) ++lun.ring[b % LunStats::kSeriesBuckets];
    ++lun.ios;
    lun.bytes += e.length;

    const std::uint16_t initiator = compact_initiator(e.initiator);
    // An I/O spanning extents counts once in each.
    const std::uint64_t first = e.offset / extent_bytes_;
    const std::uint64_t last =
        (e.offset + std::max<std::uint32_t>(e.length, 1) - 1) / extent_bytes_;
    for (std::uint64_t x = first; x <= last; ++x) {
        ExtentStats* s = extents_.find_or_insert(make_extent_key(e.lun, x));
        if (s == nullptr) {  // table full: the extent stays untracked
            ++untracked_;
            last_untracked_us_ = e.time_us;
            continue;
        }
        const std::uint64_t begin = std::max(e.offset, x * extent_bytes_);
        const std::uint64_t end = std::min(e.offset + e.length, (x + 1) * extent_bytes_);
        s->record(tick, bucket_ticks_, episode_gap_ticks_, e.op != IoOp::kRead,
                  static_cast<std::uint32_t>(end > begin ? end - begin : 0), initiator, sequential);
    }
}

void Profiler::evict_idle(std::uint64_t now_us, std::uint64_t idle_us) {
    if (now_us <= idle_us) return;
    const std::uint32_t horizon_tick = to_tick(now_us - idle_us);
    extents_.rebuild([&](const ExtentStats& s) { return s.last_tick >= horizon_tick; });
}

}  // namespace rbdtier
