// LunMeasurements: what a LUN's rounds measure of the executor they run on, for its policy: each
// tier's read and write latency (the LUN's commands as they completed, by the tier that served
// them) and the rate its migrations move extents at (an extent's bytes over the time its
// migration took, as the executor runs them: one of the LUN's at a time).
// Each is an exponentially weighted mean: the plain mean of the first samples, then each new
// sample weighs kIoWeight (kMigrationWeight), so the figures follow a change of load within a few
// hundred commands (a handful of migrations). A figure is used once it has kMinIoSamples
// (kMinMigrationSamples) samples; until then the configured or discovered value stands.
// A tier's latency is that of an access, not of a transfer: only what counts() accepts is handed
// to served() (the caller filters, once, before it keeps a command). Policies rank tiers by read
// latency, and a tier that serves nothing is known only as configured or discovered (at open,
// idle): measured read latencies are used only while they keep the tiers in the order the
// configured ones give (a busy fast tier measured slower than an idle one's discovered figure is no
// reason to move data to that one). That order is the one the LUN's tiers were made with: for
// latencies discovery measured, that of the tiers' media at a site (lun_policy_config,
// engine/policy/tier_model.h), so a misleading round trip at open does not fix a wrong order for
// the LUN's life. Not thread-safe: the caller serializes every call (LunRounds: under its mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/io_event.h"
#include "engine/placement_policy.h"

namespace rbdtier {

class LunMeasurements {
public:
    static constexpr std::uint64_t kMinIoSamples = 32;
    static constexpr double kIoWeight = 1.0 / 128;
    static constexpr std::uint64_t kMinMigrationSamples = 3;
    static constexpr double kMigrationWeight = 1.0 / 8;
    static constexpr std::uint32_t kMaxSampleBytes = 16 << 10;

    // Whether a command of `op` and `bytes` served in `latency_us` measures its tier's access
    // latency: not an unmap, not larger than kMaxSampleBytes, its latency known (not 0).
    static bool counts(IoOp op, std::uint32_t bytes, double latency_us) {
        return op != IoOp::kUnmap && bytes <= kMaxSampleBytes && latency_us > 0;
    }
    // A command of `op` (one counts() accepted) served by tier `tier` in `latency_us`.
    void served(TierId tier, IoOp op, double latency_us);
    // A migration moved `bytes` in `duration_us` (0 µs counts as 1).
    void migrated(std::uint64_t bytes, std::uint64_t duration_us);

    // `tiers` with the write latencies measured enough in place of theirs, and the read ones if
    // they keep the tiers' order (see above).
    void apply(std::vector<TierSpec>& tiers) const;
    // The rate the LUN's migrations run at, no more than `budget` (the bandwidth they may use);
    // `budget` until measured enough.
    double bandwidth(double budget) const;
    bool bandwidth_measured() const { return migration_rate_.samples >= kMinMigrationSamples; }

private:
    struct Mean {
        double value = 0;
        std::uint64_t samples = 0;
        void add(double x, double weight);
    };
    std::vector<Mean> read_;  // per tier id
    std::vector<Mean> write_;
    Mean migration_rate_;  // bytes/s
};

}  // namespace rbdtier
