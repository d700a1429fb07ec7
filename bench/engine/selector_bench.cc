// selector_bench: CPU of the registered "predictive" policy (a StrategySelector: a live and a
// shadow instance of every candidate strategy) per observed I/O and per planning round, driven by
// the replay simulator (its executor's callbacks included) in the two-tier model that
// bench/replay/real_traces.sh replays the shared traces in (bench/replay/two_tier.json, its fast
// tier's capacity_fraction a share of the workload's working set).
//
// Workloads:
//  - trace: the first 30,000 I/Os of a real trace (SELECTOR_BENCH_TRACE, default the
//    webserver trace of the shared trace folder, ../shared/data/traces beside the project), read
//    by the trace readers of engine/trace;
//  - uniform: 4 KiB random reads and writes (one in three) over one LUN of 25,600 extents
//    (100 GiB), 2,000 I/Os a second for 30 s (seed printed).
// Each repetition replays the workload once under a fresh policy and reports the policy's CPU
// time (the process's, so the forecast's scoring threads count; measured around observe() and
// plan(), the simulator's own work excluded; on a shared machine CPU time varies less than wall
// time) as ns_per_event (observe time / I/Os) and ns_per_round (plan time / rounds); the time
// of a repetition is the policy's CPU time in both. The heap the policy holds is measured too
// (glibc's count of what malloc handed out, tests/support/heap_bytes.h), less what was in use
// before the policy was made: heap_peak_bytes, the most after any planning round, and
// heap_held_bytes, once the replay is over (the replay's own result included: a few KiB).
// Every repetition is printed, then the median (and mean) of the repetitions.
// Usage: selector_bench [--benchmark_filter=...] [--benchmark_repetitions=N]
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cli/replay_config_json.h"
#include "engine/policy/policy_registry.h"
#include "engine/policy/strategy_selector.h"
#include "engine/replay/replay_simulator.h"
#include "engine/trace/trace_reader.h"
#include "tests/support/heap_bytes.h"

namespace {

using namespace rbdtier;

constexpr std::uint64_t kUniformExtentBytes = 4ull << 20;
constexpr std::uint64_t kTraceEvents = 30'000;
constexpr std::uint64_t kUniformExtents = 25'600;
constexpr std::uint64_t kUniformSeed = 20261206;
constexpr const char* kDefaultTrace =
    RBDTIER_SHARED_TRACES "/blkreplay1und1_linux-webserver-2_blkreplayload.load.gz";

// CPU time of the process (ns).
double cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// Forwards every call to `inner` and adds up the CPU time spent in observe() and plan().
class TimedPolicy final : public ForwardingPolicy {
public:
    using ForwardingPolicy::ForwardingPolicy;

    void observe(const IoEvent& io) override {
        const double start = cpu_ns();
        ForwardingPolicy::observe(io);
        observe_ns_ += cpu_ns() - start;
        ++events_;
    }
    std::vector<MigrationOrder> plan(std::uint64_t now_us, const PlacementView& view) override {
        const double start = cpu_ns();
        auto orders = ForwardingPolicy::plan(now_us, view);
        plan_ns_ += cpu_ns() - start;
        ++rounds_;
        peak_heap_ = std::max(peak_heap_, test_support::heap_bytes());
        return orders;
    }

    double observe_ns() const { return observe_ns_; }
    double plan_ns() const { return plan_ns_; }
    std::uint64_t events() const { return events_; }
    std::uint64_t rounds() const { return rounds_; }
    // The most heap in use after a planning round.
    std::size_t peak_heap() const { return peak_heap_; }

private:
    std::size_t peak_heap_ = 0;
    double observe_ns_ = 0;
    double plan_ns_ = 0;
    std::uint64_t events_ = 0;
    std::uint64_t rounds_ = 0;
};

// The two-tier model of bench/replay/two_tier.json, its capacities those of `events`.
StorageModel two_tier_config(const std::vector<IoEvent>& events) {
    cli::ReplayConfigFile model = cli::read_replay_config_file(RBDTIER_TWO_TIER_MODEL);
    const std::uint64_t working_set = working_set_extents(events, model.config.extent_bytes);
    return cli::resolve_capacity_fractions(std::move(model), working_set);
}

std::vector<IoEvent> trace_events() {
    const char* path = std::getenv("SELECTOR_BENCH_TRACE");
    const std::string file = path != nullptr ? path : kDefaultTrace;
    LoadedTrace t = load_trace(file, {}, kTraceEvents);
    std::printf("trace %s: %zu I/Os\n", file.c_str(), t.events.size());
    return std::move(t.events);
}

std::vector<IoEvent> uniform_events() {
    std::printf("uniform: %llu extents, seed %llu\n",
                static_cast<unsigned long long>(kUniformExtents),
                static_cast<unsigned long long>(kUniformSeed));
    std::mt19937_64 rng(kUniformSeed);
    constexpr std::uint64_t kBlocks = kUniformExtents * (kUniformExtentBytes / 4096);
    std::vector<IoEvent> events(60'000);
    for (std::size_t i = 0; i < events.size(); ++i) {
        IoEvent& e = events[i];
        e.lun = 0;
        e.time_us = i * 500;  // 2,000 I/Os a second
        e.offset = rng() % kBlocks * 4096;
        e.length = 4096;
        e.op = rng() % 3 == 0 ? IoOp::kWrite : IoOp::kRead;
    }
    return events;
}

const std::vector<IoEvent>& workload(bool trace) {
    static const std::vector<IoEvent> from_trace = trace_events();
    static const std::vector<IoEvent> uniform = uniform_events();
    return trace ? from_trace : uniform;
}

void BM_Predictive(benchmark::State& state, bool trace) {
    const std::vector<IoEvent>& events = workload(trace);
    const StorageModel config = two_tier_config(events);
    const PolicyRegistry registry = builtin_policy_registry();
    double observe_ns = 0, plan_ns = 0, peak_bytes = 0, held_bytes = 0;
    std::uint64_t ios = 0, rounds = 0;
    for (auto _ : state) {
        const auto before = static_cast<double>(test_support::heap_bytes());
        TimedPolicy policy(registry.create("predictive", {config, events}));
        const ReplayResult r = replay(config, events, policy);
        state.SetIterationTime((policy.observe_ns() + policy.plan_ns()) / 1e9);
        benchmark::DoNotOptimize(r.mean_latency_us);
        peak_bytes += static_cast<double>(policy.peak_heap()) - before;
        held_bytes += static_cast<double>(test_support::heap_bytes()) - before;
        observe_ns += policy.observe_ns();
        plan_ns += policy.plan_ns();
        ios += policy.events();
        rounds += policy.rounds();
    }
    state.counters["ns_per_event"] =
        observe_ns / static_cast<double>(std::max<std::uint64_t>(ios, 1));
    state.counters["ns_per_round"] =
        plan_ns / static_cast<double>(std::max<std::uint64_t>(rounds, 1));
    state.counters["heap_peak_bytes"] = peak_bytes / static_cast<double>(state.iterations());
    state.counters["heap_held_bytes"] = held_bytes / static_cast<double>(state.iterations());
    state.counters["events"] = static_cast<double>(ios) / static_cast<double>(state.iterations());
    state.counters["rounds"] =
        static_cast<double>(rounds) / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(BM_Predictive, trace, true)
    ->Iterations(1)
    ->Repetitions(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Predictive, uniform, false)
    ->Iterations(1)
    ->Repetitions(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
