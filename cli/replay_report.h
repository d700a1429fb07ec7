// Presentation of replay results: a table for people and JSON for programs.
//
// The table has one row per policy: fast-tier share of I/Os (served from a tier faster than the
// LUN's home), share served by the fastest tier, mean/p50/p99 modelled latency, bytes migrated,
// wasted promotions, precision/recall of promotions, refused orders and replay wall time.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

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

void print_replay_table(std::ostream& out, const TraceSummary& trace, const ReplayConfig& config,
                        const std::vector<ReplayResult>& results);
// Per policy, why it wins or loses: promotions made and used, bytes of unused promotions, the
// mean wait before a promotion, rounds that left the channel idle despite slow accesses.
void print_replay_explain(std::ostream& out, const std::vector<ReplayResult>& results);
nlohmann::json replay_json(const TraceSummary& trace, const ReplayConfig& config,
                           const std::vector<ReplayResult>& results);

std::string human_bytes(double bytes);

}  // namespace rbdtier::cli
