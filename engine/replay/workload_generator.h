// Synthetic workloads with known structure, deterministic for a given seed.
//
//   periodic  three batch jobs, each with its own hot set (300 extents), active 2 minutes every
//             10 minutes at staggered phases, over a background of uniform random I/O (20%).
//   diurnal   several tenants (one LUN each, default 4) whose load follows a daily-like sine
//             cycle compressed to 20 minutes, phase-shifted per tenant; each tenant's I/O is
//             skewed over its own hot set (85%) plus uniform noise.
//   scan      two recurring sequential backups (512 KiB reads over 400 contiguous extents in
//             2 minutes, every 15 minutes, staggered) over a skewed background hot set.
//   shifting  a hotspot of 256 extents whose centre drifts at a constant speed across the LUN
//             (85% of I/O) plus uniform noise.
//   uniform   uniform random over the whole LUN: no structure to learn.
// I/O sizes 4 KiB to 256 KiB (4 KiB aligned, never crossing the LUN end), reads with
// probability `read_fraction`; times are µs from 0, sorted; initiator = LUN.
// The same (kind, params) always gives the same events (own PRNG, no std distributions).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/io_event.h"

namespace rbdtier {

enum class WorkloadKind { kPeriodic, kDiurnal, kScan, kShifting, kUniform };

std::optional<WorkloadKind> parse_workload_kind(std::string_view name);
std::string_view workload_kind_name(WorkloadKind kind);
std::vector<WorkloadKind> all_workload_kinds();

struct WorkloadParams {
    std::uint64_t seed = 1;
    double duration_s = 3600;
    double iops = 200;  // mean arrival rate over the run (all LUNs)
    double read_fraction = 0.7;
    std::uint64_t lun_bytes = 16ull << 30;
    std::uint32_t luns = 0;  // 0 = the kind's default (diurnal: 4, others: 1)
};

// Throws std::invalid_argument on unusable parameters (non-positive duration or rate, LUN
// smaller than the structure needs).
std::vector<IoEvent> generate_workload(WorkloadKind kind, const WorkloadParams& params);

}  // namespace rbdtier
