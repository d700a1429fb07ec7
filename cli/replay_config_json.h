// The replay's tier model from a JSON file (`rbdtier replay --tiers FILE.json`).
//
//   {"tiers": [{"name": "nvme-a", "device_class": "nvme", "site": "site-a",
//               "read_latency_us": 200, "write_latency_us": 200,
//               "read_us_per_kib": 0.5, "write_us_per_kib": 0.5,
//               "capacity_bytes": N | "capacity_gib": G | "capacity_fraction": F,
//               "cost_per_gib": 10}, ...],
//    "home": "hdd-a",
//    "tenants": [{"name": "t0", "luns": [0, 1], "quota_bytes": {"nvme-a": N},
//                 "quota_gib": {"nvme-b": G}, "priority": 1}],
//    "extent_mib": 4, "bandwidth_mib_s": 200, "max_concurrent": 32, "round_s": 1,
//    "horizon_s": 120}
// Every key is optional except tiers[].name; unknown keys are refused. capacity_fraction is a
// share of the trace's working set, resolved once the trace is loaded. Errors throw
// std::invalid_argument with the JSON path of the offending value. Every number has a range,
// and a value outside it is refused with the range ("$.horizon_s: 100000 is out of range: must
// be at least 0 and at most 86400"): latencies 0..3.6e9 us, us_per_kib 0..1e6, capacity_bytes
// and quota_bytes 0..2^62, capacity_gib and quota_gib 0..2^32, capacity_fraction (0, 1],
// cost_per_gib 0..1e9, extent_mib 0.004..1024, bandwidth_mib_s 1e-6..1048576, max_concurrent
// 1..65536, round_s 0.001..3600, horizon_s 0..86400, luns 0..2^24-1, priority (0, 1e6].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/policy/tier_model.h"

namespace rbdtier::cli {

struct ReplayConfigFile {
    StorageModel config;
    std::vector<double> capacity_fraction;  // per tier; < 0 = not given
};

ReplayConfigFile parse_replay_config_json(const std::string& text);
ReplayConfigFile read_replay_config_file(const std::string& path);

// The file's config with each tier whose capacity_fraction is given sized to that share of the
// trace's working set (`working_set_extents` extents; at least one extent); the other tiers keep
// the capacity the file gave them.
StorageModel resolve_capacity_fractions(ReplayConfigFile file, std::uint64_t working_set_extents);

}  // namespace rbdtier::cli
