// LiveTiers: the four pools of the local test cluster as a placement policy sees them, for tests
// that run a LunTiering on a TieredStorage (kAllPools order: hdd-a home, nvme-a, nvme-b, hdd-b),
// the reads such tests feed it, and what the cluster itself says a tier image holds.
#pragma once

#include <cstdint>
#include <vector>

#include "ceph/image.h"
#include "ceph/lun_tiering.h"
#include "engine/placement_policy.h"
#include "engine/policy/tier_model.h"

namespace rbdtier::test {

// Tiers with fixed latencies (nvme-a fastest, hdd-b slowest), rounds of 100 ms, a 5 s horizon;
// nvme-a limited to `nvme_a_extents` extents of 4 MiB (0 = unlimited).
StorageModel live_tier_config(std::uint64_t nvme_a_extents = 0);

// The TierSpecs of `config`, in tier id order (what LunTiering takes).
std::vector<TierSpec> tier_specs(const StorageModel& config);

// Records `reads` 4 KiB reads of `extent` (4 MiB extents) at the tiering's clock.
void record_reads(ceph::LunTiering& tiering, std::uint64_t extent, int reads = 1);

// Objects of `image` that hold data in [0, size), as rbd_diff_iterate2 reports them.
std::uint64_t allocated_extents(ceph::Image& image, std::uint64_t size);

}  // namespace rbdtier::test
