// load.h — closed-loop random I/O load at a fixed queue depth, and its statistics.
//
// Contract: run_closed_loop() keeps exactly `qd` operations in flight for `seconds` (after
// `warmup_seconds` not counted), each at a uniformly random io_size-aligned offset of
// [0, span_bytes); `submit(slot, offset, on_done)` must start one operation using buffer
// `slot` (0..qd-1, never shared by two operations in flight) and call on_done(ok) exactly
// once from any thread. Returns IOPS and latency percentiles, and what the whole process spent
// over the measured seconds (CPU time and context switches, getrusage: every thread of it, the
// handler's and librbd's among them) per counted operation. Used by tcmu-harness --bench and
// bench/handler for the harness and for raw librbd alike.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rbdtier::harness {

struct LoadSpec {
    unsigned qd = 1;
    double seconds = 5;
    double warmup_seconds = 1;
    uint64_t io_size = 4096;
    uint64_t span_bytes = 0;
    uint64_t seed = 1;
};

struct LoadStats {
    uint64_t ops = 0;
    uint64_t errors = 0;
    double seconds = 0;
    double iops = 0;
    double p50_us = 0;
    double p99_us = 0;
    double mean_us = 0;
    double cpu_seconds = 0;            // the process's user + system CPU over `seconds`
    uint64_t context_switches = 0;     // the process's, voluntary and not, over `seconds`
    std::vector<double> latencies_us;  // every counted operation's, ascending
    double cpu_us_per_op() const { return ops > 0 ? cpu_seconds * 1e6 / double(ops) : 0; }
    double switches_per_op() const { return ops > 0 ? double(context_switches) / double(ops) : 0; }
    // "iops 1234 p50 456.7us p99 890.1us mean 500.0us cpu 41.2us/op cs 2.10/op (ops 2468, ...)"
    std::string summary() const;
};

using OnDone = std::function<void(bool ok)>;
using SubmitFn = std::function<void(unsigned slot, uint64_t offset, OnDone on_done)>;

LoadStats run_closed_loop(const LoadSpec& spec, const SubmitFn& submit);

// Several runs taken as one: operations, errors, measured seconds, CPU time and context
// switches add up, IOPS is their quotient, and the percentiles and mean are those of all the runs'
// latencies.
LoadStats combine(const std::vector<LoadStats>& runs);

}  // namespace rbdtier::harness
