#include "engine/policy/tier_model.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include "engine/device_class.h"
#include "engine/extent_key.h"
#include "engine/migration_executor.h"

namespace rbdtier {

namespace {

TierModel make_tier(TierId id, const char* name, const char* device_class, const char* site,
                    double latency_us, double us_per_kib, double cost_per_gib) {
    TierModel t;
    t.spec.id = id;
    t.spec.name = name;
    t.spec.device_class = device_class;
    t.spec.site = site;
    t.spec.read_latency_us = latency_us;
    t.spec.write_latency_us = latency_us;
    t.spec.capacity_bytes = 0;
    t.spec.cost_per_gib = cost_per_gib;
    t.read_us_per_kib = us_per_kib;
    t.write_us_per_kib = us_per_kib;
    return t;
}

// Puts the latencies of the tiers that are `probed` (as discovery measured them, no override
// setting them) in the order of their media: a probed tier not faster than a tier of slower
// media at its site takes its class's floor. Slowest media first, so that a tier is compared
// with figures already final.
void keep_media_order(std::vector<TierModel>& tiers, const std::vector<bool>& probed) {
    std::vector<std::size_t> by_media;  // tiers of known media, slowest first
    for (std::size_t i = 0; i < tiers.size(); ++i)
        if (device_class_rank(tiers[i].spec.device_class)) by_media.push_back(i);
    const auto rank = [&](std::size_t i) { return *device_class_rank(tiers[i].spec.device_class); };
    std::stable_sort(by_media.begin(), by_media.end(),
                     [&](std::size_t a, std::size_t b) { return rank(a) > rank(b); });
    for (const std::size_t fast : by_media) {
        if (!probed[fast]) continue;
        TierSpec& spec = tiers[fast].spec;
        for (const std::size_t slow : by_media) {
            const TierSpec& slower = tiers[slow].spec;
            if (rank(slow) <= rank(fast) || slower.site != spec.site ||
                spec.read_latency_us < slower.read_latency_us)
                continue;
            spec.read_latency_us = spec.write_latency_us = device_class_floor_us(spec.device_class);
            break;
        }
    }
}

// A live LUN's tiers as its gateway sees them, the one source of their latencies (for the
// policy and for the copies): tiers[i] as discovered, with id i, the gateway's override applied,
// its capacity capped by the LUN's quota there, the latencies discovery measured put in the
// media's order.
std::vector<TierModel> seen_tiers(std::span<const LunTier> tiers) {
    std::vector<TierModel> seen;
    std::vector<bool> probed;
    for (std::size_t i = 0; i < tiers.size(); ++i) {
        TierModel model;
        model.spec = tiers[i].discovered;
        model.spec.id = static_cast<TierId>(i);
        if (tiers[i].override) apply_tier_override(model.spec, *tiers[i].override);
        model.spec.capacity_bytes =
            tighter_capacity(model.spec.capacity_bytes, tiers[i].quota_bytes);
        seen.push_back(std::move(model));
        probed.push_back(!tiers[i].override || !tiers[i].override->latency_ms);
    }
    keep_media_order(seen, probed);
    return seen;
}

}  // namespace

std::uint64_t StorageModel::bucket_bytes() const {
    if (burst_bytes != 0) return burst_bytes;
    // One second of bandwidth, as the gateway's budget holds (engine/gateway_budget.h), whatever
    // the round's length; a second's worth that no uint64 holds ("unlimited") saturates.
    const double one_second = bandwidth_bytes_per_s;
    constexpr double kTooLarge = 18446744073709551616.0;  // 2^64
    if (!(one_second < kTooLarge)) return std::numeric_limits<std::uint64_t>::max();
    return std::max<std::uint64_t>(extent_bytes, static_cast<std::uint64_t>(one_second));
}

ChannelSpec StorageModel::channel() const {
    ChannelSpec spec;
    spec.bandwidth_bytes_per_s = bandwidth_bytes_per_s;
    spec.bucket_bytes = bucket_bytes();
    spec.max_concurrent = max_concurrent;
    spec.extent_bytes = extent_bytes;
    return spec;
}

void StorageModel::validate() const {
    if (tiers.empty()) throw std::invalid_argument("the tier model has no tiers");
    for (std::size_t i = 0; i < tiers.size(); ++i) {
        if (tiers[i].spec.id != i)
            throw std::invalid_argument("tier '" + tiers[i].spec.name + "' has id " +
                                        std::to_string(tiers[i].spec.id) + ", expected " +
                                        std::to_string(i));
        if (tiers[i].spec.read_latency_us < 0 || tiers[i].spec.write_latency_us < 0)
            throw std::invalid_argument("tier '" + tiers[i].spec.name + "' has a negative latency");
    }
    if (default_home >= tiers.size()) throw std::invalid_argument("home tier out of range");
    for (const auto& [lun, tier] : home)
        if (tier >= tiers.size())
            throw std::invalid_argument("home tier of LUN " + std::to_string(lun) +
                                        " out of range");
    if (extent_bytes == 0 || extent_bytes % 4096 != 0)
        throw std::invalid_argument("extent size must be a positive multiple of 4 KiB");
    if (!(bandwidth_bytes_per_s > 0)) throw std::invalid_argument("bandwidth must be positive");
    if (bucket_bytes() < extent_bytes)
        throw std::invalid_argument("bandwidth burst is smaller than one extent");
    if (max_concurrent == 0) throw std::invalid_argument("concurrency cap must be at least 1");
    if (round_us == 0) throw std::invalid_argument("round length must be positive");
    std::unordered_set<LunId> seen;
    for (const auto& tenant : tenants) {
        for (LunId lun : tenant.luns)
            if (!seen.insert(lun).second)
                throw std::invalid_argument("LUN " + std::to_string(lun) +
                                            " belongs to more than one tenant");
        for (const auto& [tier, quota] : tenant.quota_bytes) {
            (void)quota;
            if (tier >= tiers.size())
                throw std::invalid_argument("tenant '" + tenant.name +
                                            "' has a quota on an "
                                            "unknown tier");
        }
    }
}

void apply_tier_override(TierSpec& spec, const TierOverride& o) {
    if (o.device_class) spec.device_class = *o.device_class;
    if (o.site) spec.site = *o.site;
    if (o.latency_ms) {
        spec.read_latency_us = *o.latency_ms * 1000.0;
        spec.write_latency_us = *o.latency_ms * 1000.0;
    }
    if (o.capacity_bytes) spec.capacity_bytes = *o.capacity_bytes;
    if (o.cost_per_gib) spec.cost_per_gib = *o.cost_per_gib;
}

StorageModel lun_policy_config(std::span<const LunTier> tiers, const LunPolicySettings& settings) {
    StorageModel config;
    config.default_home = 0;
    config.local_site = settings.local_site;
    config.extent_bytes = settings.extent_bytes;
    config.horizon_us = static_cast<std::uint64_t>(settings.horizon_s * 1e6);
    config.round_us = settings.round_us;
    config.bandwidth_bytes_per_s = settings.bandwidth_bytes_per_s;
    config.max_concurrent = MigrationExecutor::kMigrationsPerLun;
    config.max_tracked_extents = settings.max_tracked_extents;
    config.tiers = seen_tiers(tiers);
    if (!settings.tenant.empty()) {
        TenantModel tenant;
        tenant.name = settings.tenant;
        tenant.luns.push_back(settings.lun);
        config.tenants.push_back(std::move(tenant));
    }
    return config;
}

std::uint64_t copy_chunk_bytes(const TierSpec& tier) {
    const double latency = tier.read_latency_us;
    return latency > 0 && latency < kQuickTierLatencyUs ? kQuickTierCopyChunk : 0;
}

std::vector<std::uint64_t> copy_chunk_bytes(std::span<const LunTier> tiers) {
    std::vector<std::uint64_t> out;
    for (const TierModel& t : seen_tiers(tiers)) out.push_back(copy_chunk_bytes(t.spec));
    return out;
}

std::vector<TierModel> default_tier_models() {
    return {
        make_tier(0, "nvme-a", "nvme", "site-a", 200, 0.5, 10),
        make_tier(1, "hdd-a", "hdd", "site-a", 8000, 6.8, 1),
        make_tier(2, "nvme-b", "nvme", "site-b", 1200, 0.9, 10),
        make_tier(3, "hdd-b", "hdd", "site-b", 10000, 7.5, 1),
    };
}

StorageModel default_replay_config() {
    StorageModel config;
    config.tiers = default_tier_models();
    config.default_home = 1;
    return config;
}

std::uint64_t working_set_extents(std::span<const IoEvent> events, std::uint64_t extent_bytes) {
    std::unordered_set<ExtentKey> extents;
    extents.reserve(events.size() / 4 + 16);
    for (const auto& io : events) {
        const std::uint64_t first = io.offset / extent_bytes;
        const std::uint64_t last =
            (io.offset + std::max<std::uint32_t>(io.length, 1) - 1) / extent_bytes;
        for (std::uint64_t e = first; e <= last; ++e) extents.insert(make_extent_key(io.lun, e));
    }
    return extents.size();
}

void size_fast_tiers(StorageModel& config, std::span<const IoEvent> events, double fraction) {
    const std::uint64_t ws = working_set_extents(events, config.extent_bytes);
    const double home_latency = config.tiers.at(config.default_home).spec.read_latency_us;
    const auto extents =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(ws) * fraction));
    for (auto& tier : config.tiers)
        if (tier.spec.read_latency_us < home_latency)
            tier.spec.capacity_bytes = extents * config.extent_bytes;
}

StorageModel standard_replay_config(std::span<const IoEvent> events, double fast_fraction) {
    StorageModel config = default_replay_config();
    size_fast_tiers(config, events, fast_fraction);
    return config;
}

}  // namespace rbdtier
