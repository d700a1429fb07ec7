// tiering_bench: a tiered LUN on the live local cluster, a workload whose hot set moves
// predictably, and the same run with tiering off, `reactive` and `predictive` placement.
//
// The LUN's home is hdd-a (slow); it may use nvme-a (fast, capacity-limited), nvme-b and hdd-b.
// Readers issue 4 KiB reads: most inside a hot window that advances one extent every
// --step-ms, the rest anywhere. Reads go through the ExtentGate to the image that holds each
// extent, as the handler's tiered I/O path does; LunTiering runs the policy and the migrator.
// Prints per mode: mean/p50/p99 read latency, share of reads served from nvme-a, migrations and
// bytes moved, and the ratios the product is judged by. Start the cluster with --latency.
#include <rbd/librbd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/extent_gate.h"
#include "ceph/extent_migrator.h"
#include "ceph/image.h"
#include "ceph/lun_tiering.h"
#include "ceph/placement_map.h"
#include "ceph/tier_images.h"
#include "engine/replay/policy_registry.h"

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
    std::uint64_t round_ms = 250;
};

struct ModeResult {
    std::string mode;
    double mean_ms = 0, p50_ms = 0, p99_ms = 0, fast_share = 0;
    std::uint64_t reads = 0, moved = 0, bytes_moved = 0, failed = 0;
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

ReplayConfig tier_config(const Params& p, std::uint64_t extent_bytes) {
    // The policies' idea of the tiers: latency as emulated by cluster.sh --latency, ids = the
    // TierImages indexes (home hdd-a = 0).
    ReplayConfig c;
    const double lat_us[] = {13000, 300, 3800, 16500};
    const char* cls[] = {"hdd", "nvme", "nvme", "hdd"};
    const char* site[] = {"site-a", "site-a", "site-b", "site-b"};
    for (std::size_t i = 0; i < kPools.size(); ++i) {
        TierModel m;
        m.spec.id = static_cast<TierId>(i);
        m.spec.name = kPools[i];
        m.spec.device_class = cls[i];
        m.spec.site = site[i];
        m.spec.read_latency_us = m.spec.write_latency_us = lat_us[i];
        m.spec.capacity_bytes = i == 1 ? p.fast_capacity * extent_bytes : 0;
        c.tiers.push_back(m);
    }
    c.default_home = 0;
    c.extent_bytes = extent_bytes;
    c.round_us = p.round_ms * 1000;
    c.horizon_us = 4ull * p.step_ms * 1000;
    c.bandwidth_bytes_per_s = 200.0 * (1 << 20);
    return c;
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
    std::optional<ceph::TierImages> opened(
        must(ceph::TierImages::open(cluster, "hdd-a", name, kPools, true)));
    ceph::TierImages& images = *opened;
    {  // fill the LUN so that every read hits real data
        std::vector<char> data(extent_bytes, 'x');
        for (unsigned e = 0; e < p.extents; ++e) {
            if (rbd_write(images.image(0).handle(), e * extent_bytes, extent_bytes, data.data()) <
                0) {
                fail("prefill failed");
            }
        }
    }
    auto map = must(ceph::PlacementMap::load(must(ceph::IoContext::open(cluster, "hdd-a")), name));
    ceph::ExtentGate gate(p.extents);
    ceph::ExtentMigrator migrator(images, map, gate, size);

    std::unique_ptr<ceph::LunTiering> tiering;
    if (mode != "off") {
        const ReplayConfig config = tier_config(p, extent_bytes);
        const PolicyRegistry registry = builtin_policy_registry();
        auto policy = registry.create(mode, PolicyContext{config, {}});
        std::vector<TierSpec> specs;
        for (const auto& t : config.tiers) specs.push_back(t.spec);
        ceph::LunTieringOptions o;
        o.round_us = config.round_us;
        o.bandwidth_bytes_per_s = config.bandwidth_bytes_per_s;
        tiering =
            std::make_unique<ceph::LunTiering>(images, gate, migrator, specs, std::move(policy), o);
        tiering->start();
    }

    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::seconds(p.seconds);
    std::mutex merge;
    std::vector<double> latencies;
    std::uint64_t fast = 0;
    auto reader = [&](unsigned id) {
        std::mt19937_64 rng(id + 1);
        std::vector<double> mine;
        std::uint64_t mine_fast = 0;
        char buf[4096];
        for (auto now = std::chrono::steady_clock::now(); now < end;
             now = std::chrono::steady_clock::now()) {
            const auto ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
            const std::uint64_t head = static_cast<std::uint64_t>(ms / p.step_ms);
            std::uint64_t extent;
            if (std::uniform_real_distribution<>(0, 1)(rng) < p.hot_share) {
                extent = (head + rng() % p.window) % p.extents;
            } else {
                extent = rng() % p.extents;
            }
            const std::uint64_t off = extent * extent_bytes + (rng() % 1024) * 4096;
            const auto t0 = std::chrono::steady_clock::now();
            std::optional<ceph::ExtentGate::TierIndex> tier;
            while (!(tier = gate.enter(extent))) std::this_thread::yield();  // held: a moment
            const ssize_t got = rbd_read(images.image(*tier).handle(), off, 4096, buf);
            gate.leave(extent, false);
            const auto t1 = std::chrono::steady_clock::now();
            if (got != 4096) fail("read failed");
            const double us = std::chrono::duration<double, std::micro>(t1 - t0).count();
            mine.push_back(us / 1000.0);
            if (*tier == 1) ++mine_fast;
            if (tiering) {
                IoEvent ev;
                ev.time_us = tiering->now_us();
                ev.offset = off;
                ev.length = 4096;
                ev.latency_us = static_cast<std::uint32_t>(us);
                ev.op = IoOp::kRead;
                ev.initiator = id;
                tiering->record(ev);
            }
        }
        std::lock_guard lock(merge);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
        fast += mine_fast;
    };
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < p.readers; ++i) threads.emplace_back(reader, i);
    for (auto& t : threads) t.join();

    ModeResult r;
    r.mode = mode;
    if (tiering) {
        tiering->stop();
        const auto s = tiering->stats();
        r.moved = s.moved;
        r.bytes_moved = s.bytes_moved;
        r.failed = s.failed;
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
    tiering.reset();
    must(map.remove());
    opened.reset();  // close every image before removing them
    must(ceph::TierImages::remove(cluster, name, kPools, "hdd-a"));
    must(ceph::remove_image(home_io, name));
    return r;
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
