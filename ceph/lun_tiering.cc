#include "ceph/lun_tiering.h"

#include <algorithm>

namespace rbdtier::ceph {

// The policy's view of where the LUN's extents are: read from the gate, counted per tier.
class LunTiering::View : public PlacementView {
public:
    View(const ExtentGate& gate, const std::vector<TierSpec>& specs, std::uint64_t extent_bytes,
         const std::vector<std::uint64_t>& extents_in_tier)
        : gate_(gate), specs_(specs), extent_bytes_(extent_bytes), counts_(extents_in_tier) {}

    TierId tier_of(LunId, ExtentIndex extent) const override {
        return extent < gate_.extents() ? gate_.tier(extent) : 0;
    }
    TierId home_tier(LunId) const override { return 0; }
    std::uint64_t used_bytes(TierId tier) const override {
        return tier < counts_.size() ? counts_[tier] * extent_bytes_ : 0;
    }
    const std::vector<TierSpec>& tiers() const override { return specs_; }
    std::uint64_t extent_bytes() const override { return extent_bytes_; }

private:
    const ExtentGate& gate_;
    const std::vector<TierSpec>& specs_;
    std::uint64_t extent_bytes_;
    const std::vector<std::uint64_t>& counts_;
};

LunTiering::LunTiering(TierImages& images, ExtentGate& gate, ExtentMigrator& migrator,
                       std::vector<TierSpec> specs, std::unique_ptr<PlacementPolicy> policy,
                       LunTieringOptions options)
    : images_(images),
      gate_(gate),
      migrator_(migrator),
      specs_(std::move(specs)),
      policy_(std::move(policy)),
      options_(options),
      epoch_(std::chrono::steady_clock::now()),
      ring_(options.event_ring) {
    stats_.extents_in_tier.assign(specs_.size(), 0);
    for (std::uint64_t e = 0; e < gate_.extents(); ++e) {
        const auto t = gate_.tier(e);
        if (t < stats_.extents_in_tier.size()) ++stats_.extents_in_tier[t];
    }
    tokens_ = options_.bandwidth_bytes_per_s;  // one second of burst
}

LunTiering::~LunTiering() {
    stop();
}

std::uint64_t LunTiering::now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 epoch_)
        .count();
}

void LunTiering::start() {
    std::lock_guard lock(wake_mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
}

void LunTiering::stop() {
    {
        std::lock_guard lock(wake_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void LunTiering::loop() {
    std::unique_lock lock(wake_mutex_);
    while (!stopping_) {
        lock.unlock();
        run_round();
        lock.lock();
        wake_.wait_for(lock, std::chrono::microseconds(options_.round_us),
                       [this] { return stopping_; });
    }
}

void LunTiering::run_round() {
    IoEvent event;
    std::uint64_t events = 0;
    while (ring_.try_pop(event)) {
        policy_->observe(event);
        ++events;
    }
    const std::uint64_t now = now_us();
    {
        std::lock_guard lock(mutex_);
        ++stats_.rounds;
        stats_.events += events;
        stats_.dropped_events = dropped_.load(std::memory_order_relaxed);
    }
    if (paused_.load()) return;
    if (options_.may_migrate && !options_.may_migrate()) {
        std::lock_guard lock(mutex_);
        ++stats_.rounds_not_owner;
        return;
    }

    // Token bucket: refill for the time passed, at most one second of bandwidth.
    tokens_ = std::min(options_.bandwidth_bytes_per_s,
                       tokens_ + options_.bandwidth_bytes_per_s * (now - last_refill_us_) / 1e6);
    last_refill_us_ = now;

    std::vector<std::uint64_t> counts;
    {
        std::lock_guard lock(mutex_);
        counts = stats_.extents_in_tier;
    }
    View view(gate_, specs_, images_.object_size(), counts);
    const auto orders = policy_->plan(now, view);
    for (const auto& order : orders) {
        if (order.lun != options_.lun || order.extent >= gate_.extents() ||
            order.to >= specs_.size() || gate_.tier(order.extent) != order.from) {
            continue;  // stale or not ours
        }
        const std::uint64_t bytes = images_.object_size();
        const std::uint64_t capacity = specs_[order.to].capacity_bytes;
        std::unique_lock lock(mutex_);
        ++stats_.orders;
        if (order.to != 0 && capacity != 0 &&
            (stats_.extents_in_tier[order.to] + 1) * bytes > capacity) {
            ++stats_.refused_capacity;
            continue;
        }
        if (tokens_ < static_cast<double>(bytes)) {
            ++stats_.deferred_bandwidth;
            continue;
        }
        tokens_ -= static_cast<double>(bytes);
        MigrationRecord record;
        record.reason = order.reason;
        lock.unlock();  // the copy takes milliseconds: readers of stats must not wait for it
        const Status s = migrator_.migrate(order.extent, order.to, record);
        lock.lock();
        if (s) {
            ++stats_.moved;
            stats_.bytes_moved += record.bytes;
            --stats_.extents_in_tier[order.from];
            ++stats_.extents_in_tier[order.to];
            policy_->migrated(order, now_us());
        } else {
            ++stats_.failed;
        }
        history_.push_back(std::move(record));
        if (history_.size() > options_.history) history_.pop_front();
    }
}

LunTieringStats LunTiering::stats() const {
    std::lock_guard lock(mutex_);
    LunTieringStats s = stats_;
    s.dropped_events = dropped_.load(std::memory_order_relaxed);
    return s;
}

std::vector<MigrationRecord> LunTiering::history() const {
    std::lock_guard lock(mutex_);
    return {history_.begin(), history_.end()};
}

}  // namespace rbdtier::ceph
