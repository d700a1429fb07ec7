// Replay pictures: `rbdtier replay --plot FILE` writes the policies' results as one
// self-contained HTML file (inline SVG, no script, no network) a person opens in a browser:
// mean and p99 modelled latency per policy, the share of I/Os each tier served per policy
// (stacked), and migrations with promotion precision and recall per policy.
// A sweep's picture (write_sweep_plot) has a section per swept dimension: for every setting of
// the other swept dimensions, a small chart of mean and one of p99 latency, one line per policy
// across the dimension's values (evenly spaced, in the order given), each point with its value.
#pragma once

#include <ostream>
#include <vector>

#include "cli/replay_report.h"

namespace rbdtier::cli {

void write_replay_plot(std::ostream& out, const TraceSummary& trace,
                       const std::vector<ReplayResult>& results);
void write_sweep_plot(std::ostream& out, const TraceSummary& trace,
                      const std::vector<Sweep>& sweeps,
                      const std::vector<SweepPointResult>& points);

}  // namespace rbdtier::cli
