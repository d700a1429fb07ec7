#include "ceph/extent_gate.h"

#include <limits>
#include <stdexcept>

namespace rbdtier::ceph {

ExtentGate::ExtentGate(std::uint64_t extents)
    : lease_until_ns_(std::numeric_limits<std::int64_t>::max()) {
    grow(extents);
}

ExtentGate::~ExtentGate() {
    if (tables_ == nullptr) return;
    // The current table holds every directory (those of the tables it replaced among them).
    for (Directory* directory : tables_->directories) {
        for (auto& c : directory->chunks) delete c.load();
        delete directory;
    }
}

void ExtentGate::grow(std::uint64_t extents) {
    std::lock_guard lock(mutex_);
    if (extents <= extents_.load()) return;
    if (extents > kMaxExtents) throw std::length_error("ExtentGate: LUN larger than 1 PiB");
    const std::uint64_t directories =
        (extents + (kDirectoryChunks << kChunkShift) - 1) >> (kDirectoryShift + kChunkShift);
    const std::size_t have = tables_ == nullptr ? 0 : tables_->directories.size();
    if (directories > have) {
        auto next = std::make_unique<DirectoryTable>();
        next->directories.reserve(directories);
        if (tables_ != nullptr) next->directories = tables_->directories;
        std::vector<std::unique_ptr<Directory>> added;
        // Chunk pointers start null (C++20 atomics are value-initialised).
        for (std::uint64_t i = have; i < directories; ++i)
            added.push_back(std::make_unique<Directory>());
        for (auto& d : added) next->directories.push_back(d.release());
        next->replaced = std::move(tables_);
        tables_ = std::move(next);
        table_.store(tables_.get(), std::memory_order_release);
    }
    extents_.store(extents, std::memory_order_release);
    placement_changed();
}

ExtentGate::Chunk& ExtentGate::install_chunk(std::atomic<Chunk*>& slot) {
    Chunk* existing = slot.load(std::memory_order_acquire);
    if (existing != nullptr) return *existing;
    auto fresh = std::make_unique<Chunk>();  // every extent home, free, at version 0
    if (slot.compare_exchange_strong(existing, fresh.get(), std::memory_order_acq_rel,
                                     std::memory_order_acquire))
        return *fresh.release();
    return *existing;  // another thread installed it first
}

std::optional<ExtentGate::TierIndex> ExtentGate::enter(std::uint64_t extent) {
    auto& s = state(extent);
    std::uint32_t cur = s.load(std::memory_order_acquire);
    for (;;) {
        if (cur & kHeld) return std::nullopt;
        if (s.compare_exchange_weak(cur, cur + kOneInFlight, std::memory_order_acq_rel)) {
            return static_cast<TierIndex>(cur & kTierMask);
        }
    }
}

void ExtentGate::leave(std::uint64_t extent, bool wrote) {
    // The version moves before the sub-I/O stops counting as in flight, so an executor that saw
    // the extent drained also sees every write that completed.
    Chunk& c = chunk(extent);  // entered: its chunk is there
    const std::uint64_t slot = extent & (kChunkExtents - 1);
    if (wrote) c.version[slot].fetch_add(1, std::memory_order_acq_rel);
    const std::uint32_t after =
        c.state[slot].fetch_sub(kOneInFlight, std::memory_order_acq_rel) - kOneInFlight;
    if ((after & kHeld) && (after >> 9) == 0) {
        std::lock_guard lock(mutex_);
        drained_.notify_all();
    }
}

ExtentGate::Park ExtentGate::defer(std::uint64_t extent, Deferred& resume) {
    std::lock_guard lock(mutex_);
    const Chunk* c = find_chunk(extent);  // an extent never held has no chunk: not held
    if (c == nullptr ||
        !(c->state[extent & (kChunkExtents - 1)].load(std::memory_order_acquire) & kHeld))
        return Park::kFree;
    if (refused_.contains(extent)) return Park::kRefused;
    parked_[extent].push_back(std::move(resume));
    return Park::kParked;
}

namespace {

std::int64_t ns_of(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

ExtentGate::Lease ExtentGate::lease(std::chrono::steady_clock::time_point now) const {
    if (ns_of(now) < lease_until_ns_.load(std::memory_order_acquire)) return Lease::kValid;
    return refusal_.load(std::memory_order_acquire);
}

bool ExtentGate::defer_until_routable(Deferred& resume) {
    std::lock_guard lock(mutex_);  // serialises with extend_lease() and refuse()
    if (lease(std::chrono::steady_clock::now()) != Lease::kExpired) return false;
    unroutable_.push_back(std::move(resume));
    return true;
}

std::vector<ExtentGate::Deferred> ExtentGate::take_unroutable() {
    std::vector<Deferred> resume;
    resume.swap(unroutable_);
    return resume;
}

void ExtentGate::suspend() {
    std::lock_guard lock(mutex_);
    lease_until_ns_.store(std::numeric_limits<std::int64_t>::min(), std::memory_order_release);
}

void ExtentGate::extend_lease(std::chrono::steady_clock::time_point until) {
    std::vector<Deferred> resume;
    {
        std::lock_guard lock(mutex_);
        refusal_.store(Lease::kExpired, std::memory_order_release);
        lease_until_ns_.store(ns_of(until), std::memory_order_release);
        resume = take_unroutable();
    }
    for (auto& r : resume) r();
}

void ExtentGate::refuse() {
    end_lease(Lease::kRefused);
}

void ExtentGate::fence() {
    end_lease(Lease::kFenced);
}

void ExtentGate::end_lease(Lease why) {
    std::vector<Deferred> resume;
    {
        std::lock_guard lock(mutex_);
        refusal_.store(why, std::memory_order_release);
        lease_until_ns_.store(std::numeric_limits<std::int64_t>::min(), std::memory_order_release);
        resume = take_unroutable();
    }
    for (auto& r : resume) r();
}

ExtentGate::TierIndex ExtentGate::tier(std::uint64_t extent) const {
    const Chunk* c = find_chunk(extent);
    if (c == nullptr) return 0;  // untouched: home
    return static_cast<TierIndex>(
        c->state[extent & (kChunkExtents - 1)].load(std::memory_order_acquire) & kTierMask);
}

void ExtentGate::set_tier(std::uint64_t extent, TierIndex tier) {
    auto& s = state(extent);
    std::uint32_t cur = s.load(std::memory_order_acquire);
    while (!s.compare_exchange_weak(cur, (cur & ~kTierMask) | tier, std::memory_order_acq_rel)) {
    }
    placement_changed();
}

std::uint64_t ExtentGate::write_version(std::uint64_t extent) const {
    const Chunk* c = find_chunk(extent);
    return c == nullptr ? 0
                        : c->version[extent & (kChunkExtents - 1)].load(std::memory_order_acquire);
}

std::uint32_t ExtentGate::in_flight(std::uint64_t extent) const {
    const Chunk* c = find_chunk(extent);
    return c == nullptr
               ? 0
               : c->state[extent & (kChunkExtents - 1)].load(std::memory_order_acquire) >> 9;
}

void ExtentGate::hold(std::uint64_t extent) {
    std::lock_guard lock(mutex_);  // serialises with defer(): nothing parks on a free extent
    state(extent).fetch_or(kHeld, std::memory_order_acq_rel);
}

bool ExtentGate::wait_drained(std::uint64_t extent,
                              std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return drained_.wait_until(lock, deadline, [&] { return in_flight(extent) == 0; });
}

void ExtentGate::release(std::uint64_t extent, std::optional<TierIndex> new_tier) {
    std::vector<Deferred> resume;
    {
        std::lock_guard lock(mutex_);
        auto& s = state(extent);
        std::uint32_t cur = s.load(std::memory_order_acquire);
        std::uint32_t next;
        do {
            next = cur & ~kHeld;
            if (new_tier) next = (next & ~kTierMask) | *new_tier;
        } while (!s.compare_exchange_weak(cur, next, std::memory_order_acq_rel));
        refused_.erase(extent);
        resume = take_parked(extent);
    }
    for (auto& r : resume) r();
}

void ExtentGate::refuse_held(std::uint64_t extent) {
    std::vector<Deferred> resume;
    {
        std::lock_guard lock(mutex_);
        refused_.insert(extent);
        resume = take_parked(extent);
    }
    for (auto& r : resume) r();
}

bool ExtentGate::refused(std::uint64_t extent) const {
    std::lock_guard lock(mutex_);
    return refused_.contains(extent);
}

std::vector<ExtentGate::Deferred> ExtentGate::take_parked(std::uint64_t extent) {
    std::vector<Deferred> resume;
    if (auto it = parked_.find(extent); it != parked_.end()) {
        resume = std::move(it->second);
        parked_.erase(it);
    }
    return resume;
}

bool ExtentGate::reroute(std::uint64_t extent, TierIndex tier,
                         std::chrono::steady_clock::time_point deadline) {
    if (this->tier(extent) == tier) return true;
    hold(extent);
    const bool drained = wait_drained(extent, deadline);
    release(extent, tier);
    placement_changed();
    return drained;
}

}  // namespace rbdtier::ceph
