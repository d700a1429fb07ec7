// bench_engine: micro-benchmarks of the engine's hot paths.
//
//  - Profiler::record() (the concurrent intake) cost per call with 1 and 2 threads recording at
//    once, and the amortized cost per I/O including the engine thread's drain and fold into the
//    extent table, through record() and through append() (the serialized intake);
//  - scoring throughput (extents/s) of the cost/benefit kernel: serial, and TBB with 1 and 2
//    threads (tbb::global_control caps the parallelism);
//  - memory per tracked extent (counter bytes_per_extent: the extent table, slack included).
// After the Google Benchmark runs, prints the ratios that matter (TBB speed-up 1 -> 2 threads,
// parallel vs serial) from a direct timing, and memory per tracked extent measured two ways:
// the extent table's bytes (records + empty slots) / tracked extents over a sweep of sizes (its
// worst case: right after a growth), and all the heap a TieringEngine holds for 1M tracked
// extents after a planning round (glibc's mallinfo2: every container of the engine), minus what
// the same engine holds with none, / 1M.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <tbb/global_control.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include "engine/cost_benefit.h"
#include "engine/profiler.h"
#include "engine/tiering_engine.h"
#include "tests/support/scoring_candidates.h"

namespace {

using namespace rbdtier;
constexpr std::uint64_t kExt = 4ull << 20;

EngineConfig bench_config() {
    EngineConfig c;
    c.tiers = {{0, "nvme-a", "nvme", "site-a", 200, 200, 0, 10},
               {1, "hdd-a", "hdd", "site-a", 8000, 8000, 0, 1},
               {2, "nvme-b", "nvme", "site-b", 1200, 1200, 0, 8}};
    c.horizon_us = 120'000'000;
    c.profiler_shards = 8;
    c.profiler_ring_events = 1u << 18;
    c.max_tracked_extents = 4'000'000;
    return c.validated();
}

// A scoring world: a profiler table with `n` tracked extents over 8 LUNs, some placed away.
struct ScoringWorld : test_support::ScoringCandidates {
    explicit ScoringWorld(std::size_t n) : ScoringCandidates(bench_config()) {
        std::mt19937_64 rng(1);
        IoEvent e;
        e.length = 4096;
        const std::uint64_t per_lun = n / 8;
        std::uint64_t t = 0;
        for (std::size_t i = 0; i < n * 3; ++i) {
            e.lun = static_cast<LunId>(i % 8);
            e.offset = (i / 8 % per_lun) * kExt;  // every extent, three times
            e.time_us = t;
            t += 20;
            e.op = rng() % 3 == 0 ? IoOp::kWrite : IoOp::kRead;
            profiler.record(e);
            if (i % 100'000 == 0) profiler.drain(t);
        }
        profiler.drain(t);
        add_luns(0, 7, 0.6);
        for (std::size_t i = 0; i < n / 100; ++i)
            placement.moved(make_extent_key(i % 8, i), 1, 0, 1);
        prepare(t);
    }
};

ScoringWorld& world() {
    static ScoringWorld w(1'000'000);  // built once, read-only afterwards
    return w;
}

void BM_Score(benchmark::State& state, bool parallel, int threads) {
    ScoringWorld& w = world();
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<ExtentScore> out;
    for (auto _ : state) {
        CostBenefit::score(w.profiler.extents(), w.ctx, 0.0f, parallel, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() *
                            static_cast<std::int64_t>(w.profiler.extents().size()));
    state.counters["bytes_per_extent"] = w.profiler.bytes_per_extent();
    state.counters["record_bytes"] = static_cast<double>(Profiler::record_bytes());
}

void BM_Record(benchmark::State& state, Profiler* p) {
    if (state.thread_index() == 0) p->drain(0);  // start with empty rings (not timed)
    IoEvent e;
    e.length = 4096;
    e.lun = static_cast<LunId>(state.thread_index());
    e.initiator = static_cast<InitiatorId>(state.thread_index());
    std::uint64_t i = 0;
    for (auto _ : state) {
        e.offset = (i & 4095) * kExt;
        e.time_us = i++;
        p->record(e);
    }
    state.SetItemsProcessed(state.iterations());
    if (state.thread_index() == 0) state.counters["dropped"] = static_cast<double>(p->dropped());
}

// Amortized cost of an I/O including the engine thread's share: record() (or append(), the
// serialized intake), then drain (sort by time, fold into the extent table) every 64 Ki events,
// over 256 Ki extents of 8 LUNs.
void BM_IntakeAndFold(benchmark::State& state, bool serialized) {
    EngineConfig c = bench_config();
    c.profiler_ring_events = 1 << 17;
    Profiler p(c);
    IoEvent e;
    e.length = 4096;
    std::uint64_t i = 0;
    std::mt19937_64 rng(9);
    for (auto _ : state) {
        const std::uint64_t r = rng();
        e.lun = static_cast<LunId>(r & 7);
        e.offset = ((r >> 3) & 32767) * kExt;
        e.time_us = i;
        if (serialized)
            p.append(e);
        else
            p.record(e);
        if ((++i & 65535) == 0) p.drain(i);
    }
    p.drain(i);
    state.SetItemsProcessed(state.iterations());
    state.counters["dropped"] = static_cast<double>(p.dropped());
    state.counters["tracked"] = static_cast<double>(p.extents().size());
}

double time_score(bool parallel, int threads, int reps) {
    ScoringWorld& w = world();
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<ExtentScore> out;
    CostBenefit::score(w.profiler.extents(), w.ctx, 0.0f, parallel, out);  // warm up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i)
        CostBenefit::score(w.profiler.extents(), w.ctx, 0.0f, parallel, out);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(w.profiler.extents().size()) * reps / s;
}

std::size_t heap_in_use() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

// Every extent at its LUN's home (hdd-a); nothing moves.
class HomeView : public PlacementView {
public:
    explicit HomeView(std::vector<TierSpec> tiers) : tiers_(std::move(tiers)) {}
    TierId tier_of(LunId, ExtentIndex) const override { return 1; }
    TierId home_tier(LunId) const override { return 1; }
    std::uint64_t used_bytes(TierId) const override { return 0; }
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return kExt; }

private:
    std::vector<TierSpec> tiers_;
};

// Heap bytes a TieringEngine holds for `n` tracked extents (8 LUNs), after planning rounds,
// beyond what an engine that tracks nothing holds (its fixed tables). The events come in by
// observe(), as a LUN's rounds hand them to the engine.
double engine_heap_per_extent(std::size_t n, std::uint64_t* dropped) {
    EngineConfig c = bench_config();
    c.profiler_ring_events = 1 << 16;
    HomeView view(c.tiers);
    const std::size_t base = heap_in_use();
    std::size_t empty = 0;
    {
        TieringEngine e(c);
        e.plan_round(1'000'000, view);
        empty = heap_in_use() - base;
    }
    const std::size_t before = heap_in_use();
    auto engine = std::make_unique<TieringEngine>(c);
    IoEvent ev;
    ev.length = 4096;
    std::uint64_t t = 1'000'000;
    for (std::size_t i = 0; i < n; ++i) {
        ev.lun = static_cast<LunId>(i % 8);
        ev.offset = (i / 8) * kExt;
        ev.op = i % 3 == 0 ? IoOp::kWrite : IoOp::kRead;
        ev.time_us = t;
        t += 10;
        engine->observe(ev);
        if ((i + 1) % 32768 == 0) engine->plan_round(t, view);
    }
    engine->plan_round(t, view);
    *dropped = engine->stats().dropped;
    const double held = static_cast<double>(heap_in_use() - before) - static_cast<double>(empty);
    return held / static_cast<double>(engine->stats().tracked_extents);
}

// The extent table alone, over sizes from 10 k to 4 M tracked extents (x1.05 steps): the worst
// bytes per tracked extent, and at which size.
std::pair<double, std::size_t> table_worst_bytes_per_extent() {
    double worst = 0;
    std::size_t at = 0;
    ExtentTable table(8'000'000);
    std::size_t inserted = 0;
    for (double n = 10'000; n <= 4'000'000; n *= 1.05) {
        for (; inserted < static_cast<std::size_t>(n); ++inserted)
            table.find_or_insert(make_extent_key(static_cast<LunId>(inserted % 8), inserted / 8));
        // Also just after each growth.
        if (table.bytes_per_extent() > worst) {
            worst = table.bytes_per_extent();
            at = inserted;
        }
    }
    // Just after every growth in that range (the worst point of a growth cycle).
    ExtentTable t2(8'000'000);
    std::size_t cap = t2.capacity();
    for (std::size_t i = 0; i < 4'000'000; ++i) {
        t2.find_or_insert(make_extent_key(static_cast<LunId>(i % 8), i / 8));
        if (t2.capacity() != cap) {
            cap = t2.capacity();
            if (i >= 10'000 && t2.bytes_per_extent() > worst) {
                worst = t2.bytes_per_extent();
                at = i + 1;
            }
        }
    }
    return {worst, at};
}

}  // namespace

int main(int argc, char** argv) {
    auto profiler = std::make_unique<Profiler>(bench_config());
    // 1M records per thread fit in the rings (8 x 256 Ki events): the record path never drops.
    benchmark::RegisterBenchmark("profiler_record/threads:1", BM_Record, profiler.get())
        ->Threads(1)
        ->Iterations(1'000'000)
        ->UseRealTime();
    benchmark::RegisterBenchmark("profiler_record/threads:2", BM_Record, profiler.get())
        ->Threads(2)
        ->Iterations(1'000'000)
        ->UseRealTime();
    benchmark::RegisterBenchmark("profiler_record_and_fold/threads:1", BM_IntakeAndFold, false)
        ->Iterations(4'000'000)
        ->UseRealTime();
    benchmark::RegisterBenchmark("profiler_append_and_fold", BM_IntakeAndFold, true)
        ->Iterations(4'000'000)
        ->UseRealTime();
    benchmark::RegisterBenchmark("score/serial", BM_Score, false, 1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("score/tbb:1", BM_Score, true, 1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("score/tbb:2", BM_Score, true, 2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    const double serial = time_score(false, 1, 5);
    const double tbb1 = time_score(true, 1, 5);
    const double tbb2 = time_score(true, 2, 5);
    std::printf(
        "\nscoring throughput (1M tracked extents): serial %.1f M/s, tbb 1 thread %.1f M/s, "
        "tbb 2 threads %.1f M/s\n",
        serial / 1e6, tbb1 / 1e6, tbb2 / 1e6);
    std::printf("speed-up 1 -> 2 threads: %.2fx; tbb 2 threads vs serial: %.2fx\n", tbb2 / tbb1,
                tbb2 / serial);
    std::printf("memory per tracked extent: %.1f bytes at 1M (extent table, record %zu bytes)\n",
                world().profiler.bytes_per_extent(), Profiler::record_bytes());
    const auto [worst, at] = table_worst_bytes_per_extent();
    std::printf("extent table, worst over 10k..4M tracked extents: %.1f bytes (at %zu)\n", worst,
                at);
    std::uint64_t dropped = 0;
    const double heap = engine_heap_per_extent(1'000'000, &dropped);
    std::printf(
        "whole engine heap per tracked extent (1M extents, after planning rounds): %.1f bytes "
        "(%llu events dropped)\n",
        heap, static_cast<unsigned long long>(dropped));
    std::printf("hardware threads: %u\n", std::thread::hardware_concurrency());
    return 0;
}
