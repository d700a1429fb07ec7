// engine_scale_bench: one gateway's TieringEngine at full scale, synthetic.
//
// Sets up one engine for --luns LUNs (default 1,000) of --extents-per-lun 4 MiB extents (default
// 25,600: 100 GiB each, 100 TiB in all) spread over --tenants tenants (default 50), and has every
// extent seen: a first sweep touches each extent once (each LUN read sequentially by its own
// initiator), then a second period of skewed random accesses gives a hot set (a few percent of
// each LUN) repeated episodes and the rest a scattering of further accesses. Everything goes
// through the engine's own paths: the policy's observe() (the serialized intake the gateway's
// rounds feed), drain() (the fold into the extent table), placement_changed() (some extents already
// away from home, read from the view) and plan_round() (what the gateway's rounds call). Then it
// runs full planning rounds, one profiler bucket apart (so every round also refits each LUN's load
// models: the worst round), with TBB limited to 1 thread and then to 2 (tbb::global_control), and
// completes each round's orders as an executor would (migrated(), and the view moves them).
// Last, idle eviction: a step at which the extents last accessed in the first half of the sweep
// have been idle for EngineConfig::idle_evict_us, then the drain that forgets them (the extent
// table rebuilt with the rest, about 60% of it), alone.
//
// Prints: the per-extent record sizes; RSS (VmRSS, and the peak VmHWM of the setup, of the first
// round and of the timed rounds) and the engine's heap (glibc mallinfo2, in-use bytes, delta from
// before the engine was built) for the whole set and per tracked extent; the wall time and the
// CPU time (the process's, user + system) of every round, the medians per thread count and the
// speedup; the load average when the rounds began and ended (on a shared machine a round's wall
// time is only its own when its CPU time is close to threads x wall); of the idle eviction, the
// extents and the table's bytes before and after, its time and its peak RSS above the RSS before
// it.
//
// Usage: engine_scale_bench [--luns N] [--tenants N] [--extents-per-lun N] [--rounds N]
#include <malloc.h>
#include <sys/resource.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/cost_benefit.h"
#include "engine/extent_stats.h"
#include "engine/predictive_policy.h"
#include "engine/tiering_engine.h"

namespace {

using namespace rbdtier;
constexpr std::uint64_t kExtentBytes = 4ull << 20;
constexpr std::uint64_t kSecond = 1'000'000;
constexpr TierId kNvme = 0, kHdd = 1, kSsd = 2;

struct Options {
    std::uint32_t luns = 1000;
    std::uint32_t tenants = 50;
    std::uint64_t extents_per_lun = 25'600;
    int rounds = 3;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const unsigned long long v = std::strtoull(argv[i + 1], nullptr, 10);
        if (k == "--luns")
            o.luns = static_cast<std::uint32_t>(v);
        else if (k == "--tenants")
            o.tenants = static_cast<std::uint32_t>(v);
        else if (k == "--extents-per-lun")
            o.extents_per_lun = v;
        else if (k == "--rounds")
            o.rounds = static_cast<int>(v);
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            std::exit(2);
        }
    }
    o.luns = std::max<std::uint32_t>(o.luns, 1);
    o.tenants = std::clamp<std::uint32_t>(o.tenants, 1, o.luns);
    o.rounds = std::max(o.rounds, 1);
    return o;
}

std::size_t heap_in_use() {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

// VmRSS and VmHWM of this process, in bytes.
std::pair<std::size_t, std::size_t> rss() {
    std::ifstream f("/proc/self/status");
    std::string line;
    std::size_t now = 0, peak = 0;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) now = std::strtoull(line.c_str() + 6, nullptr, 10) << 10;
        if (line.rfind("VmHWM:", 0) == 0) peak = std::strtoull(line.c_str() + 6, nullptr, 10) << 10;
    }
    return {now, peak};
}

// CPU seconds this process used so far (user + system, all threads).
double cpu_seconds() {
    struct rusage u {};
    getrusage(RUSAGE_SELF, &u);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// The first line of /proc/loadavg (the 1, 5 and 15 minute averages, ...).
std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string line;
    std::getline(f, line);
    return line;
}

// Resets the peak RSS (VmHWM) to the RSS now (Linux: "5" to clear_refs); false if refused.
bool reset_peak_rss() {
    std::ofstream clear_refs("/proc/self/clear_refs");
    clear_refs << "5" << std::flush;
    return static_cast<bool>(clear_refs);
}

double gib(double bytes) {
    return bytes / static_cast<double>(1ull << 30);
}

// The executor's side: where every extent is (one byte per extent, home = hdd).
class BenchView : public PlacementView {
public:
    BenchView(std::vector<TierSpec> tiers, std::uint32_t luns, std::uint64_t per_lun)
        : tiers_(std::move(tiers)), per_lun_(per_lun), tier_(luns * per_lun, kHdd) {}
    TierId tier_of(LunId lun, ExtentIndex extent) const override {
        return extent < per_lun_ ? tier_[lun * per_lun_ + extent] : kHdd;
    }
    TierId home_tier(LunId) const override { return kHdd; }
    std::uint64_t used_bytes(TierId tier) const override { return used_[tier]; }
    const std::vector<TierSpec>& tiers() const override { return tiers_; }
    std::uint64_t extent_bytes() const override { return kExtentBytes; }
    std::uint64_t extents(LunId) const override { return per_lun_; }

    void move(LunId lun, ExtentIndex extent, TierId to) {
        std::uint8_t& t = tier_[lun * per_lun_ + extent];
        used_[t] -= kExtentBytes;
        used_[to] += kExtentBytes;
        t = static_cast<std::uint8_t>(to);
    }
    void place(LunId lun, ExtentIndex extent, TierId to) {
        if (tier_[lun * per_lun_ + extent] == kHdd) move(lun, extent, to);
    }
    void fill_home(std::uint64_t extents) { used_[kHdd] = extents * kExtentBytes; }

private:
    std::vector<TierSpec> tiers_;
    std::uint64_t per_lun_;
    std::vector<std::uint8_t> tier_;
    std::array<std::uint64_t, 3> used_{};
};

EngineConfig scale_config(const Options& o) {
    const std::uint64_t total = std::uint64_t{o.luns} * o.extents_per_lun;
    EngineConfig c;
    // A fast tier for 2% of the data, a middle one for 5%, the rest at home on hdd.
    c.tiers = {{kNvme, "nvme", "nvme", "site-a", 200, 200, total / 50 * kExtentBytes, 10},
               {kHdd, "hdd", "hdd", "site-a", 8000, 8000, 0, 1},
               {kSsd, "ssd", "ssd", "site-a", 1000, 1000, total / 20 * kExtentBytes, 4}};
    for (std::uint32_t t = 0; t < o.tenants; ++t) {
        TenantSpec s;
        s.name = "tenant-" + std::to_string(t);
        s.bandwidth_weight = 1.0 + t % 4;
        s.priority = t % 10 == 0 ? 2.0 : 1.0;
        // Each tenant may hold up to twice its share of the fast tier.
        s.quota_bytes[kNvme] = c.tiers[0].capacity_bytes / o.tenants * 2;
        c.tenants.push_back(std::move(s));
    }
    for (LunId l = 0; l < o.luns; ++l) c.lun_tenant[l] = l % o.tenants;
    c.horizon_us = 120 * kSecond;
    c.max_tracked_extents = total;
    return c.validated();
}

void print_sizes() {
    std::printf(
        "per-extent records: ExtentStats %zu B (extent table slot), ExtentScore %zu B "
        "(per scored extent, per round), ExtentHint %zu B\n",
        sizeof(ExtentStats), sizeof(ExtentScore), sizeof(ExtentHint));
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const std::uint64_t total = std::uint64_t{o.luns} * o.extents_per_lun;
    const EngineConfig config = scale_config(o);
    std::printf(
        "engine_scale_bench: %u LUNs, %u tenants, %llu extents of 4 MiB (%.1f TiB), "
        "hardware threads %u\n",
        o.luns, o.tenants, static_cast<unsigned long long>(total),
        static_cast<double>(total * kExtentBytes) / static_cast<double>(1ull << 40),
        std::thread::hardware_concurrency());
    print_sizes();

    BenchView view(config.tiers, o.luns, o.extents_per_lun);
    view.fill_home(total);
    const std::size_t heap0 = heap_in_use();
    const std::size_t rss0 = rss().first;

    const auto setup0 = std::chrono::steady_clock::now();
    auto policy = std::make_unique<PredictivePolicy>(config);
    TieringEngine& engine = policy->engine();
    const std::size_t heap_empty = heap_in_use() - heap0;

    // Drain before the profiler's intake is full: a quarter of its capacity at a time.
    const std::uint64_t drain_every = config.profiler_shards * config.profiler_ring_events / 4;
    std::uint64_t recorded = 0;
    std::uint64_t now = 0;
    IoEvent e;
    e.length = 64 << 10;
    auto record = [&](LunId lun, ExtentIndex x, std::uint64_t at, IoOp op, std::uint32_t offset) {
        e.lun = lun;
        e.initiator = lun;
        e.offset = x * kExtentBytes + offset;
        e.time_us = at;
        e.op = op;
        now = at;
        policy->observe(e);
        if (++recorded % drain_every == 0) engine.drain(now);
    };
    // Sweep [0, 300 s): every extent once, each LUN read sequentially, the LUNs interleaved.
    const std::uint64_t sweep_us = 300 * kSecond;
    for (std::uint64_t i = 0; i < total; ++i)
        record(static_cast<LunId>(i % o.luns), i / o.luns, i * sweep_us / total, IoOp::kRead, 0);
    // [300 s, 600 s): as many accesses again, half to a hot set (3% of each LUN, in episodes of
    // 4 accesses 0.1 s apart), half scattered over every extent; a third are writes.
    std::mt19937_64 rng(42);
    const std::uint64_t hot = std::max<std::uint64_t>(1, o.extents_per_lun * 3 / 100);
    const std::uint64_t period_us = 300 * kSecond;
    for (std::uint64_t i = 0; i < total;) {
        const std::uint64_t at = sweep_us + i * period_us / total;
        const std::uint64_t r = rng();
        const auto lun = static_cast<LunId>(r % o.luns);
        const IoOp op = (r >> 20) % 3 == 0 ? IoOp::kWrite : IoOp::kRead;
        if ((r >> 32) & 1) {
            const ExtentIndex x = (r >> 33) % hot;
            for (int k = 0; k < 4 && i < total; ++k, ++i)
                record(lun, x, at + static_cast<std::uint64_t>(k) * 100'000 / 4, op,
                       static_cast<std::uint32_t>(k) * (64 << 10));
        } else {
            record(lun, (r >> 33) % o.extents_per_lun, at, op, 0);
            ++i;
        }
    }
    now = sweep_us + period_us;
    engine.drain(now);
    // Some extents already away from home (as earlier rounds would have left them): the first
    // tenth of each hot set on nvme, the next tenth on ssd; the engine reads them from the view.
    for (LunId l = 0; l < o.luns; ++l) {
        for (ExtentIndex x = 0; x < hot / 10; ++x) view.place(l, x, kNvme);
        for (ExtentIndex x = hot / 10; x < hot / 5; ++x) view.place(l, x, kSsd);
        policy->placement_changed(l, now, view);
    }
    const double setup_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - setup0).count();

    const EngineStats s0 = engine.stats();
    const std::size_t rss_setup_peak = rss().second;
    std::printf(
        "setup: %.1f s, %llu events recorded, %llu dropped, %zu extents tracked, peak RSS %.2f "
        "GiB\n",
        setup_s, static_cast<unsigned long long>(recorded),
        static_cast<unsigned long long>(s0.dropped), s0.tracked_extents,
        gib(static_cast<double>(rss_setup_peak)));
    if (s0.dropped != 0 || s0.tracked_extents != total) {
        std::fprintf(stderr, "setup did not track every extent\n");
        return 1;
    }

    // Rounds, one bucket apart (each refits the LUN models); its orders complete before the next.
    std::vector<double> walls[2], cpus[2];
    std::size_t orders_total = 0;
    auto run_round = [&](int threads, int index) {
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, threads);
        now += config.bucket_us;
        const double cpu0 = cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        auto orders = policy->plan(now, view);
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double cpu = cpu_seconds() - cpu0;
        const EngineStats st = engine.stats();
        std::printf(
            "round %d, %d thread%s: %.3f s, CPU %.3f s (scoring %.3f s, %zu extents scored, %zu "
            "orders)\n",
            index, threads, threads == 1 ? "" : "s", wall, cpu, st.score_seconds, st.scored,
            orders.size());
        if (index > 0) cpus[threads - 1].push_back(cpu);
        for (const MigrationOrder& order : orders) {
            view.move(order.lun, order.extent, order.to);
            policy->migrated(order, now);
        }
        orders_total += orders.size();
        return wall;
    };
    // The first round's peak alone, if the peak can be reset.
    const bool setup_peak_reset = reset_peak_rss();
    run_round(2, 0);  // warm-up (first fit of the LUN models, first allocations): not counted
    const std::size_t heap_engine = heap_in_use() - heap0;
    const auto [rss_now, rss_peak] = rss();
    // From here the peak RSS is that of the timed rounds alone.
    const bool peak_reset = reset_peak_rss();
    const std::string load_before = load_average();
    for (int threads = 1; threads <= 2; ++threads)
        for (int r = 1; r <= o.rounds; ++r) walls[threads - 1].push_back(run_round(threads, r));

    const double m1 = median(walls[0]), m2 = median(walls[1]);
    const auto [rss_end, rss_peak_end] = rss();
    const double n = static_cast<double>(total);
    std::printf("\nmemory, %zu extents tracked (after setup and one round):\n", total);
    std::printf(
        "  engine heap (mallinfo2 in use, delta): %.2f GiB, %.1f B per extent "
        "(empty engine %.1f MiB)\n",
        gib(static_cast<double>(heap_engine)), static_cast<double>(heap_engine) / n,
        static_cast<double>(heap_empty) / (1 << 20));
    std::printf("  extent table: %.2f GiB, %.1f B per extent (capacity %zu slots)\n",
                gib(static_cast<double>(engine.profiler().extents().memory_bytes())),
                engine.profiler().bytes_per_extent(), engine.profiler().extents().capacity());
    std::printf(
        "  RSS: %.2f GiB (engine: +%.2f GiB, %.1f B per extent); peak RSS of the setup %.2f GiB, "
        "of %s %.2f GiB\n",
        gib(static_cast<double>(rss_now)), gib(static_cast<double>(rss_now - rss0)),
        static_cast<double>(rss_now - rss0) / n, gib(static_cast<double>(rss_setup_peak)),
        setup_peak_reset ? "the first round" : "setup and first round",
        gib(static_cast<double>(rss_peak)));
    std::printf("  after the timed rounds: RSS %.2f GiB, heap %.2f GiB; peak RSS %s %.2f GiB\n",
                gib(static_cast<double>(rss_end)), gib(static_cast<double>(heap_in_use() - heap0)),
                peak_reset ? "during the timed rounds" : "of the whole run",
                gib(static_cast<double>(rss_peak_end)));
    std::printf(
        "\nfull round (plan_round), median of %d: 1 thread %.3f s (CPU %.3f s), 2 threads %.3f s "
        "(CPU %.3f s), speedup 1 -> 2 threads %.2fx (%zu orders in all)\n",
        o.rounds, m1, median(cpus[0]), m2, median(cpus[1]), m1 / m2, orders_total);
    std::printf("load average when the timed rounds began: %s; ended: %s\n", load_before.c_str(),
                load_average().c_str());
    const std::uint64_t evict_at = sweep_us / 2 + engine.config().idle_evict_us;
    (void)policy->plan(evict_at, view);  // the step at which the idle extents are due
    const ExtentTable& table = engine.profiler().extents();
    const std::size_t tracked_before_evict = table.size();
    const std::size_t table_before_evict = table.memory_bytes();
    const bool evict_peak_reset = reset_peak_rss();
    const std::size_t rss_before_evict = rss().first;
    const auto evict0 = std::chrono::steady_clock::now();
    engine.drain(evict_at);
    const double evict_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - evict0).count();
    const auto [rss_after_evict, rss_peak_evict] = rss();
    // (The kernel counts a thread's pages in batches: the peak may read a little under the RSS.)
    const std::size_t evict_rise =
        rss_peak_evict > rss_before_evict ? rss_peak_evict - rss_before_evict : 0;
    std::printf(
        "\nidle eviction (idle for %.0f s): %zu -> %zu extents tracked, extent table %.2f -> %.2f "
        "GiB, %.2f s; RSS %.2f -> %.2f GiB, peak RSS %s %.3f GiB above the RSS before it (%.1f%% "
        "of the table before)\n",
        static_cast<double>(engine.config().idle_evict_us) / kSecond, tracked_before_evict,
        table.size(), gib(static_cast<double>(table_before_evict)),
        gib(static_cast<double>(table.memory_bytes())), evict_s,
        gib(static_cast<double>(rss_before_evict)), gib(static_cast<double>(rss_after_evict)),
        evict_peak_reset ? "of the eviction" : "of the whole run",
        gib(static_cast<double>(evict_rise)),
        100.0 * static_cast<double>(evict_rise) / static_cast<double>(table_before_evict));
    return 0;
}
