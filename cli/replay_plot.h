// Replay pictures: `rbdtier replay --plot FILE` writes the policies' results as one
// self-contained HTML file (inline SVG, no script, no network) a person opens in a browser:
// mean and p99 modelled latency per policy, the share of I/Os each tier served per policy
// (stacked), and migrations with promotion precision and recall per policy.
#pragma once

#include <ostream>
#include <vector>

#include "cli/replay_report.h"

namespace rbdtier::cli {

void write_replay_plot(std::ostream& out, const TraceSummary& trace,
                       const std::vector<ReplayResult>& results);

}  // namespace rbdtier::cli
