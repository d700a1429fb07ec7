// What-if sweeps for `rbdtier replay --sweep DIM=V1,V2,...`: the settings an admin can vary to
// size a tier (the fast tiers' share of the trace's working set, the migration bandwidth, the
// migrations in flight at once), the parsing of the specs and the grid of points they span.
//
// Specs: `fast=5%,10%,20%` (percent of the working set, 0 < v <= 100), `bandwidth=20,50,200`
// (MiB/s, > 0), `concurrency=1,32` (whole number >= 1). parse_sweeps() throws SweepError, whose
// message names the spec and what is wrong with it, for an unknown dimension, a spec without
// values, a value that is not a number or out of range, a value or a dimension given twice, and
// a grid of more than kMaxSweepPoints points. sweep_points() is the cartesian product of the
// sweeps, the first sweep varying slowest; a point leaves unswept dimensions unset.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rbdtier::cli {

enum class SweepDimension { kFast, kBandwidth, kConcurrency };

inline constexpr std::size_t kMaxSweepPoints = 64;

struct Sweep {
    SweepDimension dimension = SweepDimension::kFast;
    std::vector<double> values;  // fast: a fraction (0.05 for 5%); bandwidth: MiB/s
};

// One setting of the swept dimensions; unset: the replay's own setting.
struct SweepPoint {
    std::optional<double> fast_fraction;
    std::optional<double> bandwidth_mib_s;
    std::optional<unsigned> concurrency;
};

class SweepError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

std::string_view sweep_dimension_name(SweepDimension d);  // "fast", "bandwidth", "concurrency"
// The value as an admin writes it: "5%", "50 MiB/s", "32".
std::string sweep_value_label(SweepDimension d, double value);
std::vector<Sweep> parse_sweeps(const std::vector<std::string>& specs);
std::vector<SweepPoint> sweep_points(const std::vector<Sweep>& sweeps);
std::optional<double> sweep_value(const SweepPoint& point, SweepDimension d);

}  // namespace rbdtier::cli
