// Presentation of replay results: a table for people and JSON for programs.
//
// The table has one row per policy: fast-tier share of I/Os (served from a tier faster than the
// LUN's home), share served by the fastest tier, mean/p50/p99 modelled latency, bytes migrated,
// wasted promotions, precision/recall of promotions, refused orders and replay wall time.
//
// A what-if sweep (`--sweep`) prints one small table per point of the grid: the point's settings,
// mean and p99 latency per policy, and the best policy (lowest mean latency; the oracle, which
// sees the future, is shown but never named best unless it is the only policy). Its JSON is
// {"trace", "sweep": [{"dimension", "values"}], "points": [{settings, "winner", "results"}]}.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "cli/replay_sweep.h"
#include "engine/policy/tier_model.h"
#include "engine/replay/replay_result.h"

namespace rbdtier::cli {

struct TraceSummary {
    std::string source;  // path or "generated:<kind>"
    std::string format;
    std::uint64_t events = 0;
    std::uint64_t skipped = 0;
    std::uint64_t luns = 0;
    std::uint64_t duration_us = 0;
    std::uint64_t working_set_extents = 0;
};

void print_replay_table(std::ostream& out, const TraceSummary& trace, const StorageModel& config,
                        const std::vector<ReplayResult>& results);
// Per policy, why it wins or loses: promotions made and used, bytes of unused promotions, the
// mean wait before a promotion, rounds that left the channel idle despite slow accesses.
void print_replay_explain(std::ostream& out, const std::vector<ReplayResult>& results);
nlohmann::json replay_json(const TraceSummary& trace, const StorageModel& config,
                           const std::vector<ReplayResult>& results);

// One point of a sweep, with the settings the replay used there (swept or not).
struct SweepPointResult {
    SweepPoint point;          // what the sweep set
    double fast_fraction = 0;  // the fast tiers' share of the working set (0: unlimited)
    std::uint64_t fast_capacity_extents = 0;  // of the fastest tier (0: unlimited)
    double bandwidth_mib_s = 0;
    unsigned concurrency = 0;
    std::vector<ReplayResult> results;  // one per policy, in the order asked
};

// The policy with the lowest mean latency, the oracle left out unless it is alone.
std::string sweep_winner(const std::vector<ReplayResult>& results);

void print_sweep_table(std::ostream& out, const TraceSummary& trace, std::uint64_t extent_bytes,
                       const std::vector<Sweep>& sweeps,
                       const std::vector<SweepPointResult>& points);
nlohmann::json sweep_json(const TraceSummary& trace, const std::vector<Sweep>& sweeps,
                          const std::vector<SweepPointResult>& points);

std::string human_bytes(double bytes);

}  // namespace rbdtier::cli
