// tiering_bench: a tiered LUN on the live local cluster, a workload whose hot set moves
// predictably, and the same run with tiering off, `reactive` and `predictive` placement.
//
// The LUN's home tier is hdd-a (slow); it may use nvme-a (fast, capacity-limited), nvme-b and
// hdd-b. --home-layout split (the default) creates the home image with its header in meta-a, a
// replicated pool on nvme-a's OSD that the bench makes, and its data in hdd-a (`rbd create
// --data-pool`, as the README recommends for an HDD or erasure-coded home pool): the placement
// map, beside the header, is updated on the fast OSD; `single` keeps header, map and data in
// hdd-a. Every mode of a run uses the same layout; the first line printed names it.
// Readers issue 4 KiB reads through the handler's I/O path (the Lun that handler_rbdtier.so
// serves, driven as tcmu-runner does, without the .so loader): most inside a hot window that
// advances one extent every --step-ms, the rest anywhere. The LUN's cfgstring asks for the
// policy (tiers=...;policy=...;quota=nvme-a:...); the handler runs it and the migrator.
// Prints per mode: mean/p50/p99 read latency, share of reads served from nvme-a, migrations and
// bytes moved, and the ratios the product is judged by. After each tiered mode, the cost of
// migrations to foreground I/O: the same requests from the same placement with the engine
// migrating and paused, alternated (p50/p99 overall, per serving tier, and at the same tier mix).
// Start the cluster with --latency.
//
// --trace FILE replays a recorded trace instead, live, on a two-tier LUN (home hdd-a, nvme-a
// holding --fast-capacity extents): its I/Os are issued at their recorded times divided by a
// compression factor (default: what makes the trace last --target-seconds), each extent mapped
// onto the LUN modulo its size in 4 MiB extents (offset within the extent kept; volumes of a
// multi-volume trace shifted apart first), sizes clamped to --max-io-kib and to the LUN's end,
// unmaps left out; reads and writes as recorded, from --readers workers (an I/O that finds no
// free worker starts late: the mean lateness is printed). Once per mode (none, reactive,
// predictive) and --runs times, each run on a fresh LUN; every run is printed, then the median
// per mode and the ratios predictive/reactive and predictive/none. A run also prints the mean
// latency of the I/Os its home tier served and how long its migrations took; a tiered one, what its
// policy did: the tier latencies it planned with at the end and when measured ones reached it,
// its promotions into nvme-a and how many of them served an I/O from there, the candidates it
// followed, what it had heard and moved before the trace began, and its I/Os' latency against
// the migrations that overlapped them (per serving tier: during a migration whose source is that
// tier, its destination, or neither; and where the slowest 1% fall). Beside them, the same
// mapped I/Os through the replay simulator: each policy made as the LUN makes it (the tiers as it
// sees them, the LUN's bandwidth, horizon and round), the simulator's tiers as measured live (mean
// latency per tier and op over all runs), nvme-a's capacity, one migration at a time at the LUN's
// bandwidth (as the LUN's executor runs them), with the oracle's replay as the bound of both
// ratios. A live migration is several ops one after another on its tiers (copy, read-back, the
// map's updates), so it can take far longer than its bytes at the LUN's bandwidth: the replay is
// then printed again with its channel moving one extent per live migration time, the pace the
// LUN's executor actually had. Each replayed policy's promotions (used, wasted) and the candidates
// it followed are printed beside the live ones.
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
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
#include "common/log.h"
#include "engine/migration_executor.h"
#include "engine/replay/replay_policies.h"
#include "engine/replay/replay_simulator.h"
#include "engine/trace/trace_reader.h"
#include "handler/gateway.h"
#include "handler/gateway_config.h"
#include "handler/lun.h"
#include "handler/lun_builder.h"
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
    // --trace: replay a trace file live.
    std::string trace;
    double time_factor = 0;      // trace time / live time; 0: fit into target_seconds
    int target_seconds = 60;     // the run's length when time_factor is 0
    unsigned max_io_kib = 1024;  // larger I/Os are clamped to this
    int runs = 3;
    std::uint64_t limit = 0;            // first N I/Os of the trace (0: all)
    std::string home_layout = "split";  // split: header in kHeaderPool, data in kHomeDataPool
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

// The machine's load average over the last minute (0 if unknown): the bench shares the machine, so
// every run says how loaded it was.
double load_average() {
    double load[1] = {0};
    return getloadavg(load, 1) == 1 ? load[0] : 0;
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
// The home tier's pool, and the pool the split layout keeps the home image's header (and so the
// LUN's placement map and settings) in: made by the bench on nvme-a's CRUSH rule (its OSD).
constexpr const char* kHomeDataPool = "hdd-a";
constexpr const char* kHeaderPool = "meta-a";
constexpr const char* kHeaderPoolRule = "nvme-a";

// The pool of the home image (its header): kHeaderPool when split, else kHomeDataPool.
std::string home_pool(const Params& p) {
    return p.home_layout == "split" ? kHeaderPool : kHomeDataPool;
}

// The home layout as the first line of a run names it.
std::string home_layout_text(const Params& p) {
    if (p.home_layout != "split")
        return "home layout single (header, placement map and data in " +
               std::string(kHomeDataPool) + ")";
    return "home layout split (header and placement map in " + std::string(kHeaderPool) + " on " +
           kHeaderPoolRule + "'s OSD, data in " + kHomeDataPool + ")";
}

// Sends a monitor command; fails the bench when the monitors refuse it.
void mon_command(const ceph::Cluster& cluster, const std::string& json) {
    const char* cmd[] = {json.c_str()};
    char *out = nullptr, *status = nullptr;
    std::size_t out_len = 0, status_len = 0;
    const int rc = rados_mon_command(cluster.handle(), cmd, 1, nullptr, 0, &out, &out_len, &status,
                                     &status_len);
    const std::string why = status != nullptr ? std::string(status, status_len) : std::string();
    if (out != nullptr) rados_buffer_free(out);
    if (status != nullptr) rados_buffer_free(status);
    if (rc < 0) fail(json + ": " + why + " (" + std::to_string(rc) + ")");
}

// Makes the split layout's header pool (an existing one is kept) and waits until it takes a write.
void ensure_header_pool(const Params& p) {
    if (p.home_layout != "split") return;
    ceph::ClusterOptions options;
    options.conf_path = p.conf;
    auto cluster = must(ceph::Cluster::connect(options));
    mon_command(cluster, nlohmann::json{{"prefix", "osd pool create"},
                                        {"pool", kHeaderPool},
                                        {"pg_num", 8},
                                        {"pgp_num", 8},
                                        {"pool_type", "replicated"},
                                        {"rule", kHeaderPoolRule}}
                             .dump());
    mon_command(cluster, nlohmann::json{{"prefix", "osd pool application enable"},
                                        {"pool", kHeaderPool},
                                        {"app", "rbd"}}
                             .dump());
    auto io = must(ceph::IoContext::open(cluster, kHeaderPool));
    const char probe = 0;
    if (const int rc = rados_write_full(io.handle(), "rbdtier_bench_probe", &probe, 1); rc < 0)
        fail("write to " + std::string(kHeaderPool) + ": " + std::to_string(rc));
}

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

// Which candidates a selecting policy followed: rounds per candidate and the switches.
std::string describe(const std::optional<SelectionReport>& selection) {
    if (!selection || selection->luns.empty()) return "-";
    const LunSelection& lun = selection->luns.front();
    std::string out;
    for (std::size_t c = 0; c < lun.rounds.size() && c < selection->candidates.size(); ++c)
        if (lun.rounds[c] > 0)
            out += (out.empty() ? "" : ", ") + selection->candidates[c] + " " +
                   std::to_string(lun.rounds[c]);
    out += " rounds, " + std::to_string(lun.switches.size()) + " switch(es)";
    return out;
}

// The LUNs' log lines (common/log.h) on stderr, for --log.
class StderrSink final : public log::Sink {
public:
    void write(const log::Record& record) noexcept override {
        std::fprintf(stderr, "%s %s\n", std::string(log::to_string(record.level)).c_str(),
                     record.render().c_str());
    }
};

// The process's migration executor and budget, as handler_rbdtier.so's Gateway makes them (its
// default bandwidth, Gateway::kMaxConcurrentMigrations workers): a LUN's migrations run on
// those workers beside its rounds. A LUN built without one carries its migrations out inside
// its rounds, one after another, and plans again only once they are done: a path the gateway
// never takes. Outlives every LUN (destroyed at exit).
const std::shared_ptr<MigrationExecutor>& gateway_executor() {
    static const auto executor = [] {
        const double bandwidth = GatewayConfig{}.migration_bandwidth_mib_s * (1 << 20);
        return std::make_shared<MigrationExecutor>(
            std::make_shared<GatewayBudget>(bandwidth, Gateway::kMaxConcurrentMigrations),
            Gateway::kMaxConcurrentMigrations);
    }();
    return executor;
}

// Opens the LUN of cfgstring `cfg` (`size` bytes) as tcmu-runner opens it, on the gateway's
// executor, then takes its exclusive lock as tcmu-runner's implicit ALUA failover does on the
// initiator's first command, read or write (the lock callout): a tiered LUN moves extents only
// while its gateway holds the lock, and librbd takes it by itself only for a write, so a
// workload of reads would otherwise run on a LUN that never migrates.
std::unique_ptr<Lun> open_lun(const std::string& cfg, std::uint64_t size) {
    auto parsed = parse_lun_config(cfg);
    if (!parsed.config) fail(parsed.error);
    TcmuHost host;
    host.complete = bench_complete;
    auto lun = must(build_lun(*parsed.config, LunGeometry{size, 512}, host, nullptr, nullptr,
                              gateway_executor()));
    if (const int st = lun->exclusive_lock().lock(1); st != TCMU_STS_OK)
        fail("cannot take the LUN's lock: status " + std::to_string(st));
    return lun;
}

// Creates image `name` of `extents` extents in `home_io` (as p.home_layout lays it out) and writes
// every extent of it through librbd, before any LUN opens on it: every read of the workload hits
// real data, and the LUN's policy hears the workload alone (a fill through the LUN would be the
// first I/O its policy learns from, and fill the fast tier with it before the workload begins).
void create_filled_image(const Params& p, const ceph::IoContext& home_io, const std::string& name,
                         unsigned extents, std::uint64_t extent_bytes) {
    ceph::ImageCreateOptions create;
    if (p.home_layout == "split") create.data_pool = kHomeDataPool;
    must(ceph::create_image(home_io, name, std::uint64_t{extents} * extent_bytes, create));
    auto image = must(ceph::Image::open(home_io, name));
    const std::vector<char> data(extent_bytes, 'x');
    for (unsigned e = 0; e < extents; ++e) {
        const ssize_t written =
            rbd_write(image.handle(), e * extent_bytes, data.size(), data.data());
        if (written != static_cast<ssize_t>(data.size()))
            fail("filling " + name + " failed: " + std::to_string(written));
    }
    must(image.close());
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
            const std::uint8_t tier =
                lun.tiered_lun() != nullptr ? lun.tiered_lun()->gate().tier(extent) : 0;
            iovec v{buf, sizeof buf};
            const auto t0 = std::chrono::steady_clock::now();
            const int st = run_command(
                c, [&](tcmur_cmd* cmd) { return lun.read(nullptr, cmd, &v, 1, 4096, off); });
            const auto t1 = std::chrono::steady_clock::now();
            if (st != TCMU_STS_OK) fail("read failed with status " + std::to_string(st));
            const bool moved =
                lun.tiered_lun() != nullptr && lun.tiered_lun()->gate().tier(extent) != tier;
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
    ceph::LunTiering& tiering = lun.tiered_lun()->tiering();
    ceph::ExtentGate& gate = lun.tiered_lun()->gate();
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
    auto home_io = must(ceph::IoContext::open(cluster, home_pool(p)));
    const std::string name = "tierbench-" + mode + "-" + std::to_string(::getpid());
    const std::uint64_t extent_bytes = 4 << 20;
    const std::uint64_t size = p.extents * extent_bytes;
    create_filled_image(p, home_io, name, p.extents, extent_bytes);

    std::string cfg = home_pool(p) + "/" + name + ";conf=" + p.conf;
    if (mode != "off") {
        cfg += ";tiers=hdd-a,nvme-a,nvme-b,hdd-b;policy=" + mode +
               ";quota=nvme-a:" + std::to_string(p.fast_capacity * 4) + "M" +
               ";horizon=" + std::to_string(std::max(1, 4 * p.step_ms / 1000));
    }
    auto lun = open_lun(cfg, size);
    const std::size_t fast_tier = lun->tiered_lun() != nullptr
                                      ? lun->tiered_lun()->images().index_of("nvme-a").value_or(99)
                                      : 99;

    const auto samples = run_workload(p, *lun, 0, p.seconds, 1);
    ModeResult r;
    r.mode = mode;
    std::vector<double> latencies;
    std::uint64_t fast = 0;
    for (const Sample& x : samples) {
        latencies.push_back(x.ms);
        if (lun->tiered_lun() != nullptr && x.tier == fast_tier) ++fast;
    }
    if (lun->tiered_lun() != nullptr) {
        const auto s = lun->tiered_lun()->tiering().stats();  // of the main run
        r.moved = s.moved;
        r.bytes_moved = s.bytes_moved;
        r.failed = s.failed;
        std::fprintf(
            stderr,
            "%s: rounds %llu events %llu dropped %llu orders %llu moved %llu failed %llu "
            "refused(capacity) %llu deferred(bandwidth) %llu refused(pool full) %llu "
            "refused(tenant) %llu not owner %llu last round %s%s%s\n",
            mode.c_str(), (unsigned long long)s.rounds, (unsigned long long)s.events,
            (unsigned long long)s.dropped_events, (unsigned long long)s.orders,
            (unsigned long long)s.moved, (unsigned long long)s.failed,
            (unsigned long long)s.refused_capacity, (unsigned long long)s.deferred_bandwidth,
            (unsigned long long)s.refused_pool_full, (unsigned long long)s.refused_tenant_quota,
            (unsigned long long)s.rounds_not_owner, to_string(s.last_round),
            s.resource_problem.empty() ? "" : "; sampling: ", s.resource_problem.c_str());
        // What the policy planned with at the end: the tiers' latency and room as its view showed
        // them, and the candidates it followed.
        lun->tiered_lun()->tiering().inspect([&](const PlacementPolicy& policy,
                                                 const PlacementView& view) {
            for (const TierSpec& t : view.tiers())
                std::fprintf(stderr, "  planned with %s %.0f us, room %llu MiB, used %llu MiB\n",
                             t.name.c_str(), t.read_latency_us,
                             (unsigned long long)(t.capacity_bytes >> 20),
                             (unsigned long long)(view.used_bytes(t.id) >> 20));
            std::fprintf(stderr, "  followed %s\n", describe(policy.selection()).c_str());
        });
        if (const std::string problem = lun->tiered_lun()->tiering_problem(); !problem.empty())
            std::fprintf(stderr, "  tiering problem: %s\n", problem.c_str());
        for (const auto& t : lun->tiered_lun()->tiering().tiers()) {
            r.tier_names.push_back(t.name);
            std::fprintf(stderr, "  tier %s class %s site %s latency %.0f us capacity %llu\n",
                         t.name.c_str(), t.device_class.c_str(), t.site.c_str(), t.read_latency_us,
                         (unsigned long long)t.capacity_bytes);
        }
        auto history = lun->tiered_lun()->tiering().history();
        if (!history.empty()) {
            std::fprintf(stderr, "  last migration: extent %llu %s -> %s: %s\n",
                         (unsigned long long)history.back().extent, history.back().from.c_str(),
                         history.back().to.c_str(), history.back().outcome.c_str());
        }
        if (p.interference_seconds > 0) compare_interference(p, *lun, p.seconds * 1000, r);
        lun->tiered_lun()->tiering().stop();
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
    const bool tiered = lun->tiered_lun() != nullptr;
    lun.reset();
    if (tiered) {
        must(ceph::remove_tiered_lun_store(cluster, home_pool(p), "", name, kPools));
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

// One I/O of the trace as issued on the LUN.
struct TraceIo {
    std::uint64_t at_us = 0;  // from the start of the run
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    bool write = false;
};

struct TracePlan {
    std::vector<TraceIo> ios;
    double factor = 1;
    double trace_seconds = 0;
    std::uint64_t skipped_unmaps = 0, clamped = 0;
};

TracePlan plan_trace(const Params& p) {
    constexpr std::uint64_t kExtent = 4 << 20;
    LoadedTrace trace;
    try {
        trace = load_trace(p.trace, TraceReaderOptions{}, p.limit);
    } catch (const std::exception& e) {
        fail(std::string("cannot replay the trace: ") + e.what());
    }
    sort_by_time(trace.events);
    if (trace.events.empty()) fail("the trace has no I/O");
    TracePlan plan;
    const std::uint64_t t0 = trace.events.front().time_us;
    plan.trace_seconds = static_cast<double>(trace.events.back().time_us - t0) / 1e6;
    plan.factor =
        p.time_factor > 0 ? p.time_factor : std::max(1.0, plan.trace_seconds / p.target_seconds);
    const std::uint64_t lun_bytes = std::uint64_t{p.extents} * kExtent;
    const std::uint64_t max_io = std::uint64_t{p.max_io_kib} << 10;
    for (const IoEvent& e : trace.events) {
        if (e.op == IoOp::kUnmap) {
            ++plan.skipped_unmaps;
            continue;
        }
        // Volumes apart by a prime number of extents, then modulo the LUN: hot extents stay hot
        // and an I/O keeps its place inside its extent.
        const std::uint64_t extent = (e.offset / kExtent + std::uint64_t{e.lun} * 7919) % p.extents;
        const std::uint64_t offset = extent * kExtent + (e.offset % kExtent) / 512 * 512;
        std::uint64_t length = std::max<std::uint64_t>(512, (e.length + 511) / 512 * 512);
        if (length > max_io || offset + length > lun_bytes) ++plan.clamped;
        length = std::min({length, max_io, lun_bytes - offset});
        plan.ios.push_back(
            {static_cast<std::uint64_t>(static_cast<double>(e.time_us - t0) / plan.factor), offset,
             static_cast<std::uint32_t>(length), e.op == IoOp::kWrite});
    }
    if (plan.ios.empty()) fail("the trace has no read or write");
    return plan;
}

// What one live run of one mode measured.
struct TraceRun {
    double mean_ms = 0, p99_ms = 0, late_ms = 0, fast_share = 0;
    double load = 0;  // the machine's load average at the run's end
    std::uint64_t ios = 0, moved = 0, bytes_moved = 0;
    // Per tier index (0 home, 1 nvme-a) and op (0 read, 1 write): latency sum (ms) and count.
    double sum_ms[2][2] = {};
    std::uint64_t count[2][2] = {};
    double bandwidth = 0, horizon_s = 0, round_s = 0;
    std::vector<TierSpec> policy_tiers;  // the tiers as the LUN's policy sees them at its open
    // What the LUN's policy did: promotions into nvme-a that completed, those of them that served
    // an I/O from nvme-a before the extent left it, the tiers as its view showed them at the run's
    // end, when (s into the run) that view first showed each tier's measured read latency (-1:
    // never), and the candidates it followed.
    std::uint64_t promotions = 0, used_promotions = 0;
    // Before the trace began: the I/Os the policy had heard of, the extents moved, and those in
    // nvme-a then (a replay of the trace starts from none of either).
    std::uint64_t heard_before = 0, moved_before = 0, fast_before = 0;
    std::uint64_t rounds = 0;  // the LUN's rounds while the trace ran
    double seconds = 0;        // how long the trace ran
    std::vector<TierSpec> final_tiers;
    double measured_at_s[2] = {-1, -1};
    std::string followed;
    // Foreground latency against the migrations that overlapped it (interference_text()).
    std::string interference;
    // The run's completed migrations: how long each took, from its start to its commit.
    double migration_ms_sum = 0;
    std::uint64_t migrations_timed = 0;
    double migration_ms() const {
        return migrations_timed ? migration_ms_sum / static_cast<double>(migrations_timed) : 0;
    }
    double home_ms() const {
        const std::uint64_t n = count[0][0] + count[0][1];
        return n ? (sum_ms[0][0] + sum_ms[0][1]) / static_cast<double>(n) : 0;
    }
};

// One I/O as issued: its extent, the tier index serving it then (0 home, 1 nvme-a) and when it
// was issued (Unix ms, the clock of MigrationRecord::start_unix_ms).
struct Access {
    std::uint64_t extent = 0;
    std::uint8_t tier = 0;
    std::uint64_t unix_ms = 0;
    std::uint64_t unix_us = 0;  // issued, and how long it took
    double ms = 0;
};

std::uint64_t unix_us_now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// Each I/O's latency against the migrations (any outcome: a failed one did I/O too) whose span
// overlapped it: per serving tier, those that overlapped a migration reading and discarding on
// that tier (its source), else one writing and reading back there (its destination), else none;
// p50/p99 of each, and where the slowest 1% of the run's I/Os fall.
std::string interference_text(const std::vector<MigrationRecord>& history,
                              const std::vector<Access>& accesses) {
    struct Span {
        std::uint64_t from_us, to_us;
        std::string source, destination;
    };
    std::vector<Span> spans;
    for (const MigrationRecord& m : history)
        if (m.duration_us > 0)
            spans.push_back(
                {m.start_unix_ms * 1000, m.start_unix_ms * 1000 + m.duration_us, m.from, m.to});
    const char* pools[2] = {kHomeDataPool, "nvme-a"};
    const char* labels[3] = {"source", "dest", "none"};
    std::vector<double> by[2][3];
    std::vector<std::pair<double, int>> all;  // latency, tier * 3 + class
    for (const Access& a : accesses) {
        const std::uint64_t end_us = a.unix_us + static_cast<std::uint64_t>(a.ms * 1000);
        int cls = 2;
        for (const Span& s : spans) {
            if (s.from_us >= end_us || s.to_us <= a.unix_us) continue;
            if (s.source == pools[a.tier]) {
                cls = 0;
                break;
            }
            if (s.destination == pools[a.tier]) cls = 1;
        }
        by[a.tier][cls].push_back(a.ms);
        all.emplace_back(a.ms, a.tier * 3 + cls);
    }
    std::string out = "     foreground vs migrations on the I/O's tier (n p50/p99 ms):";
    char buf[160];
    for (int t = 0; t < 2; ++t) {
        out += std::string(" ") + pools[t];
        for (int c = 0; c < 3; ++c) {
            std::vector<double>& v = by[t][c];
            std::sort(v.begin(), v.end());
            const double p50 = v.empty() ? 0 : v[v.size() / 2];
            const double p99 = v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 99 / 100)];
            std::snprintf(buf, sizeof buf, " %s %zu %.1f/%.1f", labels[c], v.size(), p50, p99);
            out += buf;
        }
        out += t == 0 ? ";" : "";
    }
    std::sort(all.begin(), all.end(), std::greater<>());
    const std::size_t slow = std::max<std::size_t>(1, all.size() / 100);
    int count[6] = {};
    for (std::size_t i = 0; i < slow && i < all.size(); ++i) ++count[all[i].second];
    std::snprintf(buf, sizeof buf, "\n     the slowest %zu:", slow);
    out += buf;
    for (int k = 0; k < 6; ++k)
        if (count[k]) {
            std::snprintf(buf, sizeof buf, " %s %s %d", pools[k / 3], labels[k % 3], count[k]);
            out += buf;
        }
    return out;
}

// The run's completed promotions into nvme-a (moves from home to tier index 1's pool), and those
// followed by an I/O that nvme-a served before the extent's next move.
void count_promotions(const std::vector<MigrationRecord>& history,
                      const std::vector<Access>& accesses, TraceRun& r) {
    struct Move {
        std::uint64_t end_ms;
        bool promotion;
    };
    std::map<std::uint64_t, std::vector<Move>> moves;  // per extent, in time order
    for (const MigrationRecord& m : history)
        if (m.outcome == "moved")
            moves[m.extent].push_back({m.start_unix_ms + m.duration_us / 1000,
                                       m.to == "nvme-a" && m.from == kHomeDataPool});
    for (auto& [extent, list] : moves) {
        std::sort(list.begin(), list.end(),
                  [](const Move& a, const Move& b) { return a.end_ms < b.end_ms; });
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (!list[i].promotion) continue;
            ++r.promotions;
            const std::uint64_t until = i + 1 < list.size()
                                            ? list[i + 1].end_ms
                                            : std::numeric_limits<std::uint64_t>::max();
            for (const Access& a : accesses)
                if (a.extent == extent && a.tier == 1 && a.unix_ms >= list[i].end_ms &&
                    a.unix_ms < until) {
                    ++r.used_promotions;
                    break;
                }
        }
    }
}

TraceRun run_trace_mode(const Params& p, const TracePlan& plan, const std::string& mode) {
    ceph::ClusterOptions options;
    options.conf_path = p.conf;
    auto cluster = must(ceph::Cluster::connect(options));
    auto home_io = must(ceph::IoContext::open(cluster, home_pool(p)));
    const std::string name = "tierbench-trace-" + mode + "-" + std::to_string(::getpid());
    const std::uint64_t extent_bytes = 4 << 20;
    const std::uint64_t size = p.extents * extent_bytes;
    create_filled_image(p, home_io, name, p.extents, extent_bytes);
    // The replay's horizon (120 s of trace time) in live time.
    const int horizon = std::max(1, static_cast<int>(std::lround(120.0 / plan.factor)));
    const std::string cfg = home_pool(p) + "/" + name + ";conf=" + p.conf +
                            ";tiers=hdd-a,nvme-a;policy=" + mode +
                            ";quota=nvme-a:" + std::to_string(p.fast_capacity * 4) + "M" +
                            ";horizon=" + std::to_string(horizon);
    auto lun = open_lun(cfg, size);
    if (lun->tiered_lun() == nullptr) fail("the LUN is not tiered");
    TraceRun r;
    r.bandwidth = lun->tiered_lun()->tiering().bandwidth();
    r.horizon_s = lun->tiered_lun()->tiering_in_force().horizon_s;
    r.round_s = lun->tiered_lun()->tiering_in_force().round_s;
    r.policy_tiers = lun->tiered_lun()->tiering().tiers();
    // Two rounds, so that the rounds have handed the policy every I/O the LUN had so far.
    const auto rounds = lun->tiered_lun()->tiering().stats().rounds;
    if (!wait_for([&] { return lun->tiered_lun()->tiering().stats().rounds >= rounds + 2; }, 30))
        fail("the engine's rounds stopped");
    const auto before = lun->tiered_lun()->tiering().stats();
    r.heard_before = before.events;
    r.moved_before = before.moved;
    r.fast_before = before.extents_in_tier.size() > 1 ? before.extents_in_tier[1] : 0;

    std::atomic<std::size_t> next{0};
    std::mutex merge;
    std::vector<double> latencies;
    std::vector<Access> accesses;
    double late_sum = 0;
    const auto start = std::chrono::steady_clock::now();
    auto worker = [&] {
        std::vector<char> buf(std::size_t{p.max_io_kib} << 10, 'y');
        BenchCommand c;
        std::vector<double> mine;
        std::vector<Access> seen;
        double late = 0, sum[2][2] = {};
        std::uint64_t count[2][2] = {};
        for (std::size_t i = next++; i < plan.ios.size(); i = next++) {
            const TraceIo& io = plan.ios[i];
            const auto due = start + std::chrono::microseconds(io.at_us);
            std::this_thread::sleep_until(due);  // pacing: the trace's own arrival times
            const std::uint64_t extent = io.offset / extent_bytes;
            const std::uint8_t tier = lun->tiered_lun()->gate().tier(extent) == 0 ? 0 : 1;
            const std::uint64_t issued_us = unix_us_now();
            iovec v{buf.data(), io.length};
            const auto t0 = std::chrono::steady_clock::now();
            const int st = run_command(c, [&](tcmur_cmd* cmd) {
                return io.write ? lun->write(nullptr, cmd, &v, 1, io.length, io.offset)
                                : lun->read(nullptr, cmd, &v, 1, io.length, io.offset);
            });
            const auto t1 = std::chrono::steady_clock::now();
            if (st != TCMU_STS_OK) fail("trace I/O failed with status " + std::to_string(st));
            const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
            mine.push_back(ms);
            seen.push_back({extent, tier, issued_us / 1000, issued_us, ms});
            late += std::chrono::duration<double, std::milli>(t0 - due).count();
            sum[tier][io.write] += ms;
            ++count[tier][io.write];
        }
        std::lock_guard lock(merge);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
        accesses.insert(accesses.end(), seen.begin(), seen.end());
        late_sum += late;
        for (int t = 0; t < 2; ++t)
            for (int o = 0; o < 2; ++o) {
                r.sum_ms[t][o] += sum[t][o];
                r.count[t][o] += count[t][o];
            }
    };
    // When the policy's view first shows each tier's measured read latency in place of the one
    // it opened with.
    std::atomic<bool> workers_done{false};
    std::thread watcher([&] {
        ceph::LunTiering& tiering = lun->tiered_lun()->tiering();
        while (!workers_done.load()) {
            const auto now = tiering.effective_tiers();
            const double at =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            for (std::size_t t = 0; t < 2 && t < now.size(); ++t)
                if (r.measured_at_s[t] < 0 &&
                    now[t].read_latency_us != r.policy_tiers.at(t).read_latency_us)
                    r.measured_at_s[t] = at;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < p.readers; ++i) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    workers_done = true;
    watcher.join();

    const auto after = lun->tiered_lun()->tiering().stats();
    r.moved = after.moved - before.moved;
    r.rounds = after.rounds - before.rounds;
    r.bytes_moved = after.bytes_moved - before.bytes_moved;
    lun->tiered_lun()->tiering().stop();
    r.final_tiers = lun->tiered_lun()->tiering().effective_tiers();
    lun->tiered_lun()->tiering().inspect([&](const PlacementPolicy& policy, const PlacementView&) {
        r.followed = describe(policy.selection());
    });
    const auto history = lun->tiered_lun()->tiering().history();
    for (const MigrationRecord& m : history)
        if (m.outcome == "moved") {
            r.migration_ms_sum += static_cast<double>(m.duration_us) / 1000;
            ++r.migrations_timed;
        }
    count_promotions(history, accesses, r);
    r.interference = interference_text(history, accesses);
    std::sort(latencies.begin(), latencies.end());
    r.ios = latencies.size();
    double sum = 0;
    for (double l : latencies) sum += l;
    r.mean_ms = sum / static_cast<double>(r.ios);
    r.p99_ms = latencies[std::min(r.ios - 1, r.ios * 99 / 100)];
    r.late_ms = late_sum / static_cast<double>(r.ios);
    r.load = load_average();
    r.fast_share = static_cast<double>(r.count[1][0] + r.count[1][1]) / static_cast<double>(r.ios);
    lun.reset();
    must(ceph::remove_tiered_lun_store(cluster, home_pool(p), "", name, kPools));
    must(ceph::remove_image(home_io, name));
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The replay simulator on the mapped I/Os with the tier model the live runs measured, its channel
// moving one extent at a time at `bandwidth` bytes/s; the modes, then "oracle".
std::vector<ReplayResult> replay_plan(const Params& p, const TracePlan& plan,
                                      const std::vector<std::string>& modes,
                                      const std::vector<TraceRun>& runs, double bandwidth) {
    double sum[2][2] = {};
    std::uint64_t count[2][2] = {};
    for (const TraceRun& r : runs)
        for (int t = 0; t < 2; ++t)
            for (int o = 0; o < 2; ++o) {
                sum[t][o] += r.sum_ms[t][o];
                count[t][o] += r.count[t][o];
            }
    // A tier (or op) never served live: the other op's mean, else the emulated profile.
    const double fallback[2] = {8000, 300};
    auto latency_us = [&](int tier, int op) {
        if (count[tier][op]) return 1000 * sum[tier][op] / static_cast<double>(count[tier][op]);
        if (count[tier][1 - op])
            return 1000 * sum[tier][1 - op] / static_cast<double>(count[tier][1 - op]);
        return fallback[tier];
    };
    StorageModel config;
    config.tiers.resize(2);
    const char* names[2] = {"hdd-a", "nvme-a"};
    const char* classes[2] = {"hdd", "nvme"};
    for (int t = 0; t < 2; ++t) {
        TierSpec& spec = config.tiers[t].spec;
        spec.id = static_cast<TierId>(t);
        spec.name = names[t];
        spec.device_class = classes[t];
        spec.site = "site-a";
        spec.read_latency_us = latency_us(t, 0);
        spec.write_latency_us = latency_us(t, 1);
    }
    config.tiers[1].spec.capacity_bytes = std::uint64_t{p.fast_capacity} * (4 << 20);
    config.default_home = 0;
    config.bandwidth_bytes_per_s = bandwidth;
    config.max_concurrent = 1;
    config.round_us = static_cast<std::uint64_t>(runs.front().round_s * 1e6);
    config.horizon_us = static_cast<std::uint64_t>(runs.front().horizon_s * 1e6);
    // The policy as the LUN made it: the tiers as it sees them (latency from discovery, capacity
    // from the quota), the LUN's bandwidth and the executor's concurrency; the simulator's tiers
    // and channel are what the live runs measured.
    StorageModel policy_config = config;
    for (std::size_t t = 0; t < 2; ++t) {
        policy_config.tiers[t].spec = runs.front().policy_tiers.at(t);
        policy_config.tiers[t].spec.id = static_cast<TierId>(t);
    }
    policy_config.bandwidth_bytes_per_s = runs.front().bandwidth;
    policy_config.max_concurrent = MigrationExecutor::kMigrationsPerLun;
    std::printf(
        "replay model: hdd-a %.2f/%.2f ms, nvme-a %.2f/%.2f ms (read/write, measured live), "
        "nvme-a %u extents, %.1f MiB/s, 1 migration at a time, round %.2f s, horizon %.0f s\n",
        config.tiers[0].spec.read_latency_us / 1000, config.tiers[0].spec.write_latency_us / 1000,
        config.tiers[1].spec.read_latency_us / 1000, config.tiers[1].spec.write_latency_us / 1000,
        p.fast_capacity, config.bandwidth_bytes_per_s / (1 << 20), runs.front().round_s,
        runs.front().horizon_s);
    std::printf(
        "  the policies as the LUN made them: hdd-a %.2f ms, nvme-a %.2f ms, nvme-a %llu MiB, "
        "%.0f MiB/s, %u migrations at a time\n",
        policy_config.tiers[0].spec.read_latency_us / 1000,
        policy_config.tiers[1].spec.read_latency_us / 1000,
        static_cast<unsigned long long>(policy_config.tiers[1].spec.capacity_bytes >> 20),
        policy_config.bandwidth_bytes_per_s / (1 << 20), policy_config.max_concurrent);
    std::vector<IoEvent> events;
    for (const TraceIo& io : plan.ios)
        events.push_back(
            {io.at_us, io.offset, io.length, 0, 0, 0, io.write ? IoOp::kWrite : IoOp::kRead});
    const auto registry = replay_policy_registry();
    std::vector<ReplayResult> results;
    std::vector<std::string> replayed = modes;
    replayed.push_back("oracle");
    for (const std::string& mode : replayed) {
        auto policy = registry.create(mode, {policy_config, events});
        results.push_back(replay(config, events, *policy));
    }
    return results;
}

// The live medians per mode beside the replay of the same I/Os at `bandwidth`, and the ratios.
void compare_with_replay(const Params& p, const TracePlan& plan,
                         const std::vector<std::string>& modes,
                         const std::vector<std::vector<TraceRun>>& by_mode,
                         const std::vector<TraceRun>& all, double bandwidth) {
    const auto replayed = replay_plan(p, plan, modes, all, bandwidth);
    std::printf("\n%-11s %12s %12s %12s %12s %12s %12s\n", "mode", "live_mean", "live_p99",
                "replay_mean", "replay_p99", "live_moved", "replay_moved");
    std::vector<double> live_mean(modes.size()), replay_mean(modes.size());
    for (std::size_t m = 0; m < modes.size(); ++m) {
        std::vector<double> means, p99s, moved;
        for (const TraceRun& r : by_mode[m]) {
            means.push_back(r.mean_ms);
            p99s.push_back(r.p99_ms);
            moved.push_back(static_cast<double>(r.moved));
        }
        live_mean[m] = median(means);
        replay_mean[m] = replayed[m].mean_latency_us / 1000;
        std::printf("%-11s %12.2f %12.2f %12.2f %12.2f %12.0f %12llu\n", modes[m].c_str(),
                    live_mean[m], median(p99s), replay_mean[m], replayed[m].p99_latency_us / 1000,
                    median(moved), static_cast<unsigned long long>(replayed[m].migrations));
    }
    // What each policy did in the replay, and the share of I/Os nvme-a served there and live (a
    // figure of the placement alone, whatever the tiers' latencies on a loaded machine).
    for (std::size_t m = 0; m < modes.size(); ++m) {
        if (modes[m] == "none") continue;
        std::vector<double> fast;
        for (const TraceRun& r : by_mode[m]) fast.push_back(r.fast_share);
        std::printf(
            "  replay %s: promotions %llu, used %llu, wasted %llu; followed %s; nvme-a served "
            "%.1f%% of I/Os (live: median %.1f%%)\n",
            modes[m].c_str(), static_cast<unsigned long long>(replayed[m].promotions),
            static_cast<unsigned long long>(replayed[m].useful_promotions),
            static_cast<unsigned long long>(replayed[m].wasted_promotions),
            describe(replayed[m].selection).c_str(), 100 * replayed[m].fast_share(),
            100 * median(fast));
    }
    const ReplayResult& oracle = replayed.back();
    std::printf("%-11s %12s %12s %12.2f %12.2f %12s %12llu\n", "oracle", "-", "-",
                oracle.mean_latency_us / 1000, oracle.p99_latency_us / 1000, "-",
                static_cast<unsigned long long>(oracle.migrations));
    std::printf("(live: median of %d run(s), ms)\n", p.runs);
    auto index = [&](const char* m) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < modes.size(); ++i)
            if (modes[i] == m) return i;
        return std::nullopt;
    };
    const auto none = index("none"), reactive = index("reactive"), predictive = index("predictive");
    auto ratio = [&](const char* label, std::optional<std::size_t> a, std::optional<std::size_t> b,
                     const char* target) {
        if (!a || !b) return;
        const double live = live_mean[*a] / live_mean[*b];
        const double model = replay_mean[*a] / replay_mean[*b];
        std::printf("%s mean latency: live %.2f, replay %.2f, live/replay %.2f (target %s)\n",
                    label, live, model, live / model, target);
    };
    ratio("predictive/reactive", predictive, reactive, "<= 0.8 where replay shows a gap");
    ratio("predictive/none", predictive, none, "<= 0.5");
    // What knowing the future would reach in the same model: the bound on both targets.
    for (const auto& [label, m] : {std::pair{"reactive", reactive}, std::pair{"none", none}})
        if (m)
            std::printf("oracle/%s mean latency in replay: %.2f\n", label,
                        oracle.mean_latency_us / 1000 / replay_mean[*m]);
}

int run_trace_bench(const Params& p, const std::vector<std::string>& modes) {
    const TracePlan plan = plan_trace(p);
    const double live_s = static_cast<double>(plan.ios.back().at_us) / 1e6;
    std::printf(
        "trace %s: %zu I/Os over %.1f s, replayed live in %.1f s (time / %.2f) on a %u-extent "
        "LUN (nvme-a holds %u), %llu clamped to %u KiB or the LUN's end, %llu unmaps left out, "
        "%u workers, %d run(s) per mode; %s\n",
        p.trace.c_str(), plan.ios.size(), plan.trace_seconds, live_s, plan.factor, p.extents,
        p.fast_capacity, static_cast<unsigned long long>(plan.clamped), p.max_io_kib,
        static_cast<unsigned long long>(plan.skipped_unmaps), p.readers, p.runs,
        home_layout_text(p).c_str());
    std::printf("%-4s %-11s %8s %9s %9s %9s %8s %7s %10s %8s %8s %5s\n", "run", "mode", "ios",
                "mean_ms", "p99_ms", "late_ms", "nvme_a%", "moved", "MiB_moved", "home_ms",
                "mig_ms", "load");
    std::vector<std::vector<TraceRun>> by_mode(modes.size());
    std::vector<TraceRun> all;
    // Runs interleave the modes (run 1: none, reactive, predictive; run 2: ...) so that a change
    // of the shared machine's load does not favour one mode.
    for (int run = 1; run <= p.runs; ++run) {
        for (std::size_t m = 0; m < modes.size(); ++m) {
            const TraceRun r = run_trace_mode(p, plan, modes[m]);
            by_mode[m].push_back(r);
            all.push_back(r);
            std::printf(
                "%-4d %-11s %8llu %9.2f %9.2f %9.2f %7.1f%% %7llu %10.0f %8.2f %8.1f %5.1f\n", run,
                modes[m].c_str(), static_cast<unsigned long long>(r.ios), r.mean_ms, r.p99_ms,
                r.late_ms, 100 * r.fast_share, static_cast<unsigned long long>(r.moved),
                r.bytes_moved / 1048576.0, r.home_ms(), r.migration_ms(), r.load);
            if (modes[m] != "none" && r.final_tiers.size() >= 2)
                std::printf(
                    "     planned with hdd-a %.2f ms, nvme-a %.2f ms at the end (opened with "
                    "%.2f/%.2f; measured in view from %.1f/%.1f s); promotions %llu, used %llu; "
                    "followed %s\n     before the trace the policy heard %llu I/Os, moved "
                    "%llu extents, nvme-a held %llu\n",
                    r.final_tiers[0].read_latency_us / 1000,
                    r.final_tiers[1].read_latency_us / 1000,
                    r.policy_tiers[0].read_latency_us / 1000,
                    r.policy_tiers[1].read_latency_us / 1000, r.measured_at_s[0],
                    r.measured_at_s[1], static_cast<unsigned long long>(r.promotions),
                    static_cast<unsigned long long>(r.used_promotions), r.followed.c_str(),
                    static_cast<unsigned long long>(r.heard_before),
                    static_cast<unsigned long long>(r.moved_before),
                    static_cast<unsigned long long>(r.fast_before));
            if (modes[m] != "none") std::printf("%s\n", r.interference.c_str());
            if (modes[m] != "none")
                std::printf("     rounds %llu in %.1f s, one per %.2f s planned\n",
                            static_cast<unsigned long long>(r.rounds), r.seconds, r.round_s);
            std::fflush(stdout);
        }
    }
    compare_with_replay(p, plan, modes, by_mode, all, all.front().bandwidth);
    // A live migration takes longer than its bytes at the LUN's bandwidth (the copy, its
    // read-back and the map's updates wait on the tiers' own latency and queues): the same
    // replay with the channel moving one extent per live migration time.
    double ms = 0;
    std::uint64_t n = 0;
    for (const TraceRun& r : all) {
        ms += r.migration_ms_sum;
        n += r.migrations_timed;
    }
    const double measured = n ? 4.0 * (1 << 20) / (ms / static_cast<double>(n) / 1000) : 0;
    if (n && measured < all.front().bandwidth) {
        std::printf("\nlive migrations took %.1f ms each (mean of %llu): replay at that pace\n",
                    ms / static_cast<double>(n), static_cast<unsigned long long>(n));
        compare_with_replay(p, plan, modes, by_mode, all, measured);
    }
    return 0;
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
    app.add_option("--trace", p.trace,
                   "replay this trace file live (any format rbdtier replay reads) instead of the "
                   "synthetic workload; modes default to none, reactive, predictive");
    app.add_option("--time-factor", p.time_factor,
                   "--trace: trace time / live time (default: fit into --target-seconds)")
        ->check(CLI::PositiveNumber);
    app.add_option("--target-seconds", p.target_seconds,
                   "--trace: live length of a run when --time-factor is not given")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--max-io-kib", p.max_io_kib, "--trace: larger I/Os are clamped to this")
        ->capture_default_str()
        ->check(CLI::Range(1u, 65536u));
    app.add_option("--runs", p.runs, "--trace: runs per mode (the median is reported)")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--limit", p.limit, "--trace: the first N I/Os only");
    app.add_option("--fast-capacity", p.fast_capacity, "extents nvme-a may hold")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--home-layout", p.home_layout,
                   "split: the home image's header (and the LUN's placement map) in a replicated "
                   "pool on the fast OSD, its data in hdd-a; single: all in hdd-a")
        ->capture_default_str()
        ->check(CLI::IsMember({"split", "single"}));
    bool show_log = false;
    app.add_flag("--log", show_log, "print the LUNs' log lines (info and above) on stderr");
    CLI11_PARSE(app, argc, argv);
    StderrSink sink;
    std::optional<log::Binding> logging;
    if (show_log) logging.emplace(sink, log::Level::kInfo);
    ensure_header_pool(p);
    if (!p.trace.empty()) {
        if (app.count("--modes") == 0) modes = {"none", "reactive", "predictive"};
        for (const auto& m : modes)
            if (m != "none" && m != "reactive" && m != "predictive")
                fail("--trace runs the modes none, reactive and predictive (not " + m + ")");
        if (p.extents == 0) fail("--extents must be at least 1");
        return run_trace_bench(p, modes);
    }

    std::vector<ModeResult> results;
    std::printf("%s\n", home_layout_text(p).c_str());
    std::printf("%-11s %9s %9s %9s %9s %9s %8s %10s %5s\n", "mode", "reads", "mean_ms", "p50_ms",
                "p99_ms", "nvme_a%", "moved", "MiB_moved", "load");
    for (const auto& mode : modes) {
        const auto r = run_mode(p, mode);
        results.push_back(r);
        std::printf("%-11s %9llu %9.2f %9.2f %9.2f %9.1f %8llu %10.0f %5.1f\n", r.mode.c_str(),
                    static_cast<unsigned long long>(r.reads), r.mean_ms, r.p50_ms, r.p99_ms,
                    100 * r.fast_share, static_cast<unsigned long long>(r.moved),
                    r.bytes_moved / 1048576.0, load_average());
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
