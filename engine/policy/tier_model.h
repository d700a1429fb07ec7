// Tier model and storage model: the physical world a policy places extents in, which the replay
// simulator enforces and a live LUN's policy is made from.
//
// A TierModel is a TierSpec (latency per 4 KiB access, capacity, cost) plus a transfer cost per
// KiB beyond the first 4 KiB of a request. A TenantModel groups LUNs and caps the bytes they may
// keep in each tier. StorageModel gathers tiers, homes, tenants, extent size, migration bandwidth
// (token bucket), concurrency cap, round length and the policies' horizon. Tier ids are indexes
// into `tiers`. Capacities and quotas count extents placed in a tier away from their home;
// home-resident data is not counted (0 capacity = unlimited).
// A live tiered LUN's policy is made from the same StorageModel (lun_policy_config): its tier
// images are its tiers (id = index, home = 0), each as discovery found it, with what the gateway's
// configuration says of the tier over that (TierOverride), the latencies discovery measured in
// the order of the tiers' media (engine/device_class.h), its capacity capped by the LUN's
// quota there, its channel the executor's: its bandwidth, one migration of the LUN at a time
// (MigrationExecutor::kMigrationsPerLun). copy_chunk_bytes() is how much of an extent a migration
// copies at a time to and from a tier, by the same latency the LUN's policy plans with. Pure
// functions and plain data: no thread-safety concern.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/io_event.h"
#include "engine/migration_channel.h"
#include "engine/placement_policy.h"

namespace rbdtier {

struct TierModel {
    TierSpec spec;
    double read_us_per_kib = 0;   // added per KiB of a read beyond the first 4 KiB
    double write_us_per_kib = 0;  // same for writes
};

struct TenantModel {
    std::string name;
    std::vector<LunId> luns;
    std::map<TierId, std::uint64_t> quota_bytes;  // absent tier = no quota
    double priority = 1.0;
};

struct StorageModel {
    std::vector<TierModel> tiers;
    TierId default_home = 1;
    std::map<LunId, TierId> home;  // per-LUN override of default_home
    std::vector<TenantModel> tenants;
    std::uint64_t extent_bytes = 4ull << 20;
    double bandwidth_bytes_per_s = 200.0 * (1 << 20);
    std::uint64_t burst_bytes = 0;  // token bucket depth; 0 = one second of bandwidth
    unsigned max_concurrent = 32;   // migrations in flight at once
    std::uint64_t round_us = 1'000'000;
    std::uint64_t horizon_us = 120'000'000;  // how far policies look ahead / forecast
    std::string local_site;  // the gateway's site; empty: the default home tier's site
    std::size_t max_tracked_extents =
        0;  // extents an engine-backed policy profiles; 0: its default

    TierId home_of(LunId lun) const {
        auto it = home.find(lun);
        return it == home.end() ? default_home : it->second;
    }
    std::uint64_t bucket_bytes() const;
    // The executor's budget as a MigrationChannel models it.
    ChannelSpec channel() const;
    // Throws std::invalid_argument with a reason when the configuration is unusable.
    void validate() const;
};

// What a gateway's configuration says of a tier (rbdtier.conf's [tier POOL]), over what
// discovery found: each field given replaces the discovered one.
struct TierOverride {
    std::optional<std::string> device_class;
    std::optional<std::string> site;
    std::optional<double> latency_ms;             // sets the read and the write latency
    std::optional<std::uint64_t> capacity_bytes;  // 0 = unlimited
    std::optional<double> cost_per_gib;

    bool operator==(const TierOverride&) const = default;
};

// `spec` with what `o` sets.
void apply_tier_override(TierSpec& spec, const TierOverride& o);

// One tier image of a live LUN, as its policy is told of it.
struct LunTier {
    TierSpec discovered;                   // as discovery measured the pool
    std::optional<TierOverride> override;  // the gateway's configuration of the pool, if any
    std::uint64_t quota_bytes = 0;         // the LUN's quota= in the pool (0: none)
};

// What a live LUN's policy is made with besides its tiers.
struct LunPolicySettings {
    std::string local_site;
    std::uint64_t extent_bytes = 4ull << 20;
    double horizon_s = 120;
    std::uint64_t round_us = 1'000'000;
    double bandwidth_bytes_per_s = 200.0 * (1 << 20);
    std::size_t max_tracked_extents = 0;
    LunId lun = 0;       // the LUN's id as the policy keys extents
    std::string tenant;  // "" : none
};

// The configuration a live LUN's policy is made with: tiers[i] is tier i (home 0), its override
// applied over what was discovered and its capacity then capped by the LUN's quota there; as many
// migrations at once as the executor runs for one LUN; the
// LUN's tenant, when it has one, names the LUN (for the policy's accounting; the quotas are the
// executor's to enforce).
// The media order the tiers of a site, not the few round trips discovery measured (a loaded
// machine can make them rank an nvme pool after an hdd one, and the policy would then promote
// nothing): a tier whose latency no override sets and that is not faster than a tier of slower
// media at its site (device classes known to engine/device_class.h) takes its class's floor, which
// is below every slower class's floor. Latencies an override sets are the gateway's word and stay;
// tiers of unknown media, or at different sites, keep what discovery measured.
StorageModel lun_policy_config(std::span<const LunTier> tiers, const LunPolicySettings& settings);

// The bytes a migration copies (and verifies) at a time to and from a tier of `tier`'s latency:
// 1 MiB where an access costs under 2 ms (local fast media: a 4 MiB op would hold its
// foreground reads up for several times their latency), 0 (the whole extent in one op)
// elsewhere and where the latency is unknown (every op there costs a seek or a round trip to a
// remote site, so more ops would cost foreground I/O more).
std::uint64_t copy_chunk_bytes(const TierSpec& tier);
// Per tier of a live LUN (tiers[i] is tier i): copy_chunk_bytes() of the tier as its policy
// sees it (lun_policy_config: the gateway's override applied, the latencies in the media's
// order), so the copies and the policy go by one latency per tier.
std::vector<std::uint64_t> copy_chunk_bytes(std::span<const LunTier> tiers);
inline constexpr std::uint64_t kQuickTierCopyChunk = 1 << 20;
inline constexpr double kQuickTierLatencyUs = 2000;

// nvme-a 0.2 ms, hdd-a 8 ms (home), nvme-b 1.2 ms, hdd-b 10 ms; capacities unlimited.
std::vector<TierModel> default_tier_models();
StorageModel default_replay_config();

// Sets the capacity of every tier faster than the default home to `fraction` of the trace's
// working set (distinct extents touched), at least one extent.
void size_fast_tiers(StorageModel& config, std::span<const IoEvent> events, double fraction);

// The standard scenario used by the CLI and the acceptance tests: default tiers, home hdd-a,
// every faster tier sized to `fast_fraction` of the working set of `events`.
StorageModel standard_replay_config(std::span<const IoEvent> events, double fast_fraction = 0.1);

// Distinct extents touched by `events` with the given extent size.
std::uint64_t working_set_extents(std::span<const IoEvent> events, std::uint64_t extent_bytes);

}  // namespace rbdtier
