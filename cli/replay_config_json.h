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
// std::invalid_argument with the JSON path of the offending value.
#pragma once

#include <string>
#include <vector>

#include "engine/replay/tier_model.h"

namespace rbdtier::cli {

struct ReplayConfigFile {
    ReplayConfig config;
    std::vector<double> capacity_fraction;  // per tier; < 0 = not given
};

ReplayConfigFile parse_replay_config_json(const std::string& text);
ReplayConfigFile read_replay_config_file(const std::string& path);

}  // namespace rbdtier::cli
