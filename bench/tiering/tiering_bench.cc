// tiering_bench: a tiered LUN on the live local cluster, a workload whose hot set moves
// predictably, and the same run with tiering off, `reactive` and `predictive` placement.
//
// The LUN's home is hdd-a (slow); it may use nvme-a (fast, capacity-limited), nvme-b and hdd-b.
// Readers issue 4 KiB reads through the handler's I/O path (the Lun that handler_rbdtier.so
// serves, driven as tcmu-runner does, without the .so loader): most inside a hot window that
// advances one extent every --step-ms, the rest anywhere. The LUN's cfgstring asks for the
// policy (tiers=...;policy=...;quota=nvme-a:...); the handler runs it and the migrator.
// Prints per mode: mean/p50/p99 read latency, share of reads served from nvme-a, migrations and
// bytes moved, and the ratios the product is judged by. After each tiered mode, the cost of
// migrations to foreground I/O: the same requests from the same placement with the engine
// migrating and paused, alternated (p50/p99 overall, per serving tier, and at the same tier mix).
// Start the cluster with --latency.
#include <rbd/librbd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/extent_migrator.h"
#include "ceph/image.h"
#include "ceph/placement_map.h"
#include "ceph/tier_images.h"
#include "ceph/tiered_lun_store.h"
#include "handler/lun.h"
#include "handler/lun_config.h"

namespace rbdtier {
namespace {

struct Params {
    std::string conf;
    int seconds = 60;
    int step_ms = 1500;
    unsigned extents = 64;
    unsigned window = 2;
    unsigned fast_capacity = 8;  // extents nvme-a may hold
    unsigned readers = 8;
    double hot_share = 0.9;
    int interference_seconds = 5;  // per phase; 0: no migrating-vs-paused comparison
    int interference_rounds = 6;   // migrating + paused phases, alternated
};

// One read's latency and the tier index that served it (0 = home; 0 when not tiered).
struct Sample {
    double ms = 0;
    std::uint8_t tier = 0;
    bool moved = false;  // the extent was in another tier when the read completed
};

// Foreground latency of one phase of the interference comparison.
struct PhaseResult {
    std::vector<Sample> samples;
    std::uint64_t moved = 0, bytes_moved = 0;
};

struct ModeResult {
    std::string mode;
    double mean_ms = 0, p50_ms = 0, p99_ms = 0, fast_share = 0;
    std::uint64_t reads = 0, moved = 0, bytes_moved = 0, failed = 0;
    std::optional<PhaseResult> migrating, paused;  // the interference comparison, if run
    std::vector<std::string> tier_names;
};

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "tiering_bench: %s\n", what.c_str());
    std::exit(1);
}

template <typename T>
T must(ceph::Result<T> r) {
    if (!r) fail(r.status().message());
    return std::move(r).value();
}

void must(const ceph::Status& s) {
    if (!s) fail(s.message());
}

const std::vector<std::string> kPools = {"hdd-a", "nvme-a", "nvme-b", "hdd-b"};

// The handler's command as the bench plays tcmu-runner: complete() stores the status and
// wakes the reader waiting on it.
struct BenchCommand {
    tcmur_cmd cmd{};  // first: complete() gets a pointer to it
    std::atomic<int> status{-1};
};

void bench_complete(tcmu_device*, void* cmd, int status) {
    auto* c = reinterpret_cast<BenchCommand*>(static_cast<tcmur_cmd*>(cmd));
    c->status.store(status, std::memory_order_release);
    c->status.notify_one();
}

int run_command(BenchCommand& c, const std::function<int(tcmur_cmd*)>& submit) {
    c.status.store(-1);
    const int queued = submit(&c.cmd);
    if (queued != TCMU_STS_OK) return queued;
    c.status.wait(-1, std::memory_order_acquire);
    return c.status.load();
}

// The workload: p.readers threads of 4 KiB reads for `seconds`, most inside a hot window that
// advances one extent every p.step_ms, as if `offset_ms` of the workload had passed already.
// Readers' random streams come from `seed`: the same seed and offset replay the same requests.
std::vector<Sample> run_workload(const Params& p, Lun& lun, std::int64_t offset_ms, int seconds,
                                 unsigned seed) {
    const std::uint64_t extent_bytes = 4 << 20;
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::seconds(seconds);
    std::mutex merge;
    std::vector<Sample> all;
    auto reader = [&](unsigned id) {
        std::mt19937_64 rng(seed * 1000 + id + 1);
        std::vector<Sample> mine;
        char buf[4096];
        BenchCommand c;
        for (auto now = std::chrono::steady_clock::now(); now < end;
             now = std::chrono::steady_clock::now()) {
            const auto ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count() +
                offset_ms;
            const std::uint64_t head = static_cast<std::uint64_t>(ms / p.step_ms);
            std::uint64_t extent;
            if (std::uniform_real_distribution<>(0, 1)(rng) < p.hot_share) {
                extent = (head + rng() % p.window) % p.extents;
            } else {
                extent = rng() % p.extents;
            }
            const std::uint64_t off = extent * extent_bytes + (rng() % 1024) * 4096;
            const std::uint8_t tier = lun.tiered() ? lun.extent_gate()->tier(extent) : 0;
            iovec v{buf, sizeof buf};
            const auto t0 = std::chrono::steady_clock::now();
            const int st = run_command(
                c, [&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, &v, 1, 4096, off); });
            const auto t1 = std::chrono::steady_clock::now();
            if (st != TCMU_STS_OK) fail("read failed with status " + std::to_string(st));
            const bool moved = lun.tiered() && lun.extent_gate()->tier(extent) != tier;
            mine.push_back(
                {std::chrono::duration<double, std::milli>(t1 - t0).count(), tier, moved});
        }
        std::lock_guard lock(merge);
        all.insert(all.end(), mine.begin(), mine.end());
    };
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < p.readers; ++i) threads.emplace_back(reader, i);
    for (auto& t : threads) t.join();
    return all;
}

// Waits until `done` holds, at most `seconds`.
bool wait_for(const std::function<bool()>& done, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

// Foreground latency with the engine migrating vs paused: the same requests (same seeds, same
// point of the workload) from the same placement. A migrating phase runs with the engine at
// work; then every extent is pinned back where it was when that phase began, the engine is
// paused once the placement is restored, and a paused phase replays the requests with no
// migration at all. Repeated p.interference_rounds times (migrating, paused, migrating, ...), so
// that a change of the machine's load does not favour one side.
void compare_interference(const Params& p, Lun& lun, std::int64_t offset_ms, ModeResult& r) {
    ceph::LunTiering& tiering = *lun.tiering();
    ceph::ExtentGate& gate = *lun.extent_gate();
    std::vector<TierId> placement(p.extents);
    for (unsigned e = 0; e < p.extents; ++e) placement[e] = gate.tier(e);

    auto phase = [&](PhaseResult& into) {
        const auto before = tiering.stats();
        auto samples = run_workload(p, lun, offset_ms, p.interference_seconds, 7);
        const auto after = tiering.stats();
        into.samples.insert(into.samples.end(), samples.begin(), samples.end());
        into.moved += after.moved - before.moved;
        into.bytes_moved += after.bytes_moved - before.bytes_moved;
    };
    PhaseResult migrating, paused;
    for (int round = 0; round < p.interference_rounds; ++round) {
        phase(migrating);
        for (unsigned e = 0; e < p.extents; ++e) must(tiering.pin(e, 1, placement[e]));
        const bool restored = wait_for(
            [&] {
                for (unsigned e = 0; e < p.extents; ++e)
                    if (gate.tier(e) != placement[e]) return false;
                return true;
            },
            120);
        if (!restored) fail("the placement was not restored within 120 s");
        tiering.set_paused(true);
        // A round that began before the pause may still be moving pinned extents: let it end.
        const auto rounds = tiering.stats().rounds;
        if (!wait_for([&] { return tiering.stats().rounds >= rounds + 2; }, 30)) {
            fail("the engine's rounds stopped");
        }
        tiering.unpin(0, p.extents);
        phase(paused);
        tiering.set_paused(false);
    }
    r.migrating = std::move(migrating);
    r.paused = std::move(paused);
}

ModeResult run_mode(const Params& p, const std::string& mode) {
    ceph::ClusterOptions options;
    options.conf_path = p.conf;
    auto cluster = must(ceph::Cluster::connect(options));
    auto home_io = must(ceph::IoContext::open(cluster, "hdd-a"));
    const std::string name = "tierbench-" + mode + "-" + std::to_string(::getpid());
    const std::uint64_t extent_bytes = 4 << 20;
    const std::uint64_t size = p.extents * extent_bytes;
    must(ceph::create_image(home_io, name, size));

    std::string cfg = "hdd-a/" + name + ";conf=" + p.conf;
    if (mode != "off") {
        cfg += ";tiers=hdd-a,nvme-a,nvme-b,hdd-b;policy=" + mode +
               ";quota=nvme-a:" + std::to_string(p.fast_capacity * 4) + "M" +
               ";horizon=" + std::to_string(std::max(1, 4 * p.step_ms / 1000));
    }
    auto parsed = parse_lun_config(cfg);
    if (!parsed.config) fail(parsed.error);
    TcmuHost host;
    host.complete = bench_complete;
    auto lun = must(Lun::open(*parsed.config, LunGeometry{size, 512}, host));
    const std::size_t fast_tier =
        lun->tiered() ? lun->tier_images()->index_of("nvme-a").value_or(99) : 99;
    {  // fill the LUN so that every read hits real data
        std::vector<char> data(extent_bytes, 'x');
        BenchCommand c;
        for (unsigned e = 0; e < p.extents; ++e) {
            iovec v{data.data(), data.size()};
            if (run_command(c, [&](tcmur_cmd* cmd) {
                    return lun->write(nullptr, cmd, &v, 1, extent_bytes, e * extent_bytes);
                }) != TCMU_STS_OK) {
                fail("prefill failed");
            }
        }
    }

    const auto samples = run_workload(p, *lun, 0, p.seconds, 1);
    ModeResult r;
    r.mode = mode;
    std::vector<double> latencies;
    std::uint64_t fast = 0;
    for (const Sample& x : samples) {
        latencies.push_back(x.ms);
        if (lun->tiered() && x.tier == fast_tier) ++fast;
    }
    if (lun->tiering() != nullptr) {
        const auto s = lun->tiering()->stats();  // of the main run
        r.moved = s.moved;
        r.bytes_moved = s.bytes_moved;
        r.failed = s.failed;
        std::fprintf(stderr,
                     "%s: rounds %llu events %llu dropped %llu orders %llu moved %llu failed %llu "
                     "refused(capacity) %llu deferred(bandwidth) %llu\n",
                     mode.c_str(), (unsigned long long)s.rounds, (unsigned long long)s.events,
                     (unsigned long long)s.dropped_events, (unsigned long long)s.orders,
                     (unsigned long long)s.moved, (unsigned long long)s.failed,
                     (unsigned long long)s.refused_capacity,
                     (unsigned long long)s.deferred_bandwidth);
        for (const auto& t : lun->tiering()->tiers()) {
            r.tier_names.push_back(t.name);
            std::fprintf(stderr, "  tier %s class %s site %s latency %.0f us capacity %llu\n",
                         t.name.c_str(), t.device_class.c_str(), t.site.c_str(), t.read_latency_us,
                         (unsigned long long)t.capacity_bytes);
        }
        auto history = lun->tiering()->history();
        if (!history.empty()) {
            std::fprintf(stderr, "  last migration: extent %llu %s -> %s: %s\n",
                         (unsigned long long)history.back().extent, history.back().from.c_str(),
                         history.back().to.c_str(), history.back().outcome.c_str());
        }
        if (p.interference_seconds > 0) compare_interference(p, *lun, p.seconds * 1000, r);
        lun->tiering()->stop();
    }
    std::sort(latencies.begin(), latencies.end());
    r.reads = latencies.size();
    if (!latencies.empty()) {
        double sum = 0;
        for (double l : latencies) sum += l;
        r.mean_ms = sum / latencies.size();
        r.p50_ms = latencies[latencies.size() / 2];
        r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
        r.fast_share = static_cast<double>(fast) / latencies.size();
    }
    const bool tiered = lun->tiered();
    lun.reset();
    if (tiered) {
        must(ceph::remove_tiered_lun_store(cluster, "hdd-a", "", name, kPools));
    }
    must(ceph::remove_image(home_io, name));
    return r;
}

struct Percentiles {
    std::size_t n = 0;
    double p50 = 0, p99 = 0;
};

// Of the reads served by `tier` (-1: all); without those whose extent moved meanwhile if
// `unmoved_only`.
Percentiles percentiles(const std::vector<Sample>& samples, int tier, bool unmoved_only = false) {
    std::vector<double> v;
    for (const Sample& s : samples)
        if ((tier < 0 || s.tier == tier) && !(unmoved_only && s.moved)) v.push_back(s.ms);
    Percentiles p;
    p.n = v.size();
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    p.p50 = v[v.size() / 2];
    p.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    return p;
}

// The same requests from the same placement, engine migrating vs paused: overall (what the
// user sees, migrations' benefit included) and per serving tier (their cost alone: the copy
// I/O competing with foreground reads on the same OSDs).
void print_interference(const ModeResult& r) {
    std::printf(
        "\n%s: foreground reads, engine migrating vs paused (%llu vs %llu extents moved, "
        "%.0f vs %.0f MiB)\n",
        r.mode.c_str(), static_cast<unsigned long long>(r.migrating->moved),
        static_cast<unsigned long long>(r.paused->moved), r.migrating->bytes_moved / 1048576.0,
        r.paused->bytes_moved / 1048576.0);
    std::printf("  %-8s %8s %8s %8s %8s %8s %8s %9s\n", "served", "n_migr", "p50_migr", "p99_migr",
                "n_paus", "p50_paus", "p99_paus", "p99_ratio");
    double worst = 0;
    for (int t = -1; t < static_cast<int>(r.tier_names.size()); ++t) {
        const Percentiles m = percentiles(r.migrating->samples, t);
        const Percentiles q = percentiles(r.paused->samples, t);
        if (m.n == 0 && q.n == 0) continue;
        const double ratio = q.p99 > 0 ? m.p99 / q.p99 : 0;
        // Per tier, only where both phases have 200+ reads is the p99 worth comparing.
        if (t >= 0 && m.n >= 200 && q.n >= 200) worst = std::max(worst, ratio);
        std::printf("  %-8s %8zu %8.2f %8.2f %8zu %8.2f %8.2f %9.2f\n",
                    t < 0 ? "all" : r.tier_names[static_cast<std::size_t>(t)].c_str(), m.n, m.p50,
                    m.p99, q.n, q.p50, q.p99, ratio);
    }
    // The paused reads reweighted to the migrating phase's mix of serving tiers: what p99 would
    // be at the same placement without migrations. Tiers the paused phase never served are left
    // out on both sides.
    std::vector<std::size_t> n_m(r.tier_names.size() + 1, 0), n_p(r.tier_names.size() + 1, 0);
    for (const Sample& s : r.migrating->samples) ++n_m[s.tier];
    for (const Sample& s : r.paused->samples) ++n_p[s.tier];
    std::vector<std::pair<double, double>> weighted;  // latency, weight
    std::vector<double> migr;
    double total = 0;
    for (const Sample& s : r.paused->samples) {
        const double w = static_cast<double>(n_m[s.tier]) / static_cast<double>(n_p[s.tier]);
        weighted.emplace_back(s.ms, w);
        total += w;
    }
    for (const Sample& s : r.migrating->samples)
        if (n_p[s.tier] > 0) migr.push_back(s.ms);
    std::sort(weighted.begin(), weighted.end());
    std::sort(migr.begin(), migr.end());
    double acc = 0, mixed_p99 = 0;
    for (const auto& [ms, w] : weighted) {
        acc += w;
        mixed_p99 = ms;
        if (acc >= 0.99 * total) break;
    }
    const double migr_p99 =
        migr.empty() ? 0 : migr[std::min(migr.size() - 1, migr.size() * 99 / 100)];
    std::printf(
        "  foreground p99 at the same tier mix: migrating %.2f ms, paused %.2f ms, ratio "
        "%.2f (target <= 1.2)\n",
        migr_p99, mixed_p99, mixed_p99 > 0 ? migr_p99 / mixed_p99 : 0);
    std::printf("  worst single tier (200+ reads each side): %.2f\n", worst);
    std::size_t moved = 0;
    for (const Sample& s : r.migrating->samples) moved += s.moved;
    const Percentiles all = percentiles(r.migrating->samples, -1);
    const Percentiles unmoved = percentiles(r.migrating->samples, -1, true);
    std::printf(
        "  reads that waited for their extent's move: %zu; p99 without them %.2f (all "
        "%.2f)\n",
        moved, unmoved.p99, all.p99);
}

}  // namespace
}  // namespace rbdtier

int main(int argc, char** argv) {
    using namespace rbdtier;
    Params p;
    std::vector<std::string> modes = {"off", "reactive", "predictive"};
    CLI::App app{"tiered LUN on the local cluster: tiering off vs reactive vs predictive"};
    app.add_option("--conf", p.conf, "ceph.conf of a cluster started with --latency")->required();
    app.add_option("--seconds", p.seconds, "per mode")->capture_default_str();
    app.add_option("--step-ms", p.step_ms, "the hot window advances one extent this often")
        ->capture_default_str();
    app.add_option("--extents", p.extents, "LUN size in 4 MiB extents")->capture_default_str();
    app.add_option("--readers", p.readers, "concurrent readers (queue depth)")
        ->capture_default_str();
    app.add_option("--modes", modes, "off, reactive, predictive, frequency, oracle")
        ->capture_default_str();
    app.add_option("--interference-seconds", p.interference_seconds,
                   "per phase of the migrating-vs-paused comparison after each tiered mode (0: "
                   "none)")
        ->capture_default_str();
    app.add_option("--interference-rounds", p.interference_rounds,
                   "migrating and paused phases, alternated")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    std::vector<ModeResult> results;
    std::printf("%-11s %9s %9s %9s %9s %9s %8s %10s\n", "mode", "reads", "mean_ms", "p50_ms",
                "p99_ms", "nvme_a%", "moved", "MiB_moved");
    for (const auto& mode : modes) {
        const auto r = run_mode(p, mode);
        results.push_back(r);
        std::printf("%-11s %9llu %9.2f %9.2f %9.2f %9.1f %8llu %10.0f\n", r.mode.c_str(),
                    static_cast<unsigned long long>(r.reads), r.mean_ms, r.p50_ms, r.p99_ms,
                    100 * r.fast_share, static_cast<unsigned long long>(r.moved),
                    r.bytes_moved / 1048576.0);
        std::fflush(stdout);
    }
    auto find = [&](const std::string& m) -> const ModeResult* {
        for (const auto& r : results) {
            if (r.mode == m) return &r;
        }
        return nullptr;
    };
    for (const auto& r : results) {
        if (r.migrating && r.paused) print_interference(r);
    }
    const auto *off = find("off"), *reactive = find("reactive"), *predictive = find("predictive");
    if (off && predictive) {
        std::printf("predictive/off mean read latency: %.2f (target <= 0.5)\n",
                    predictive->mean_ms / off->mean_ms);
    }
    if (reactive && predictive) {
        std::printf("predictive/reactive mean read latency: %.2f (target <= 0.8)\n",
                    predictive->mean_ms / reactive->mean_ms);
    }
    return 0;
}
