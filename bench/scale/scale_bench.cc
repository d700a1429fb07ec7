// scale_bench — what N open LUNs cost one process: N thin images opened, idle, through
//   ours:        handler_rbdtier.so via the harness, tiered (tiers=HOME+TIER, policy as given),
//   handler_rbd: Debian's handler_rbd.so via the harness, the same images untiered,
//   librbd:      plain rbd_open of the same images (no handler),
// then, after the LUNs settled (a few rounds of the tiering), the process's thread count and RSS
// (/proc/self/status). One target and one N per process, so that each figure is the process's
// own; bench/scale/run.sh runs every (target, N) several times and prints the medians and the
// cost per LUN.
//
//   scale_bench --conf CEPH_CONF --target ours|handler_rbd|librbd --luns N [--so PATH]
//               [--pool hdd-a] [--tier nvme-a] [--size-gib 100] [--settle-s 3] [--prefix scale]
//               [--cycles K] [--print-open-times] [--exit-open] [--sample-s S]
//               [--malloc-info FILE] [--trim-after] [--no-check-config] [--owner]
// Each LUN is opened as tcmu-runner opens it (tests/harness): ours and handler_rbd after the
// handler's check_config on its cfgstring, as when targetcli creates the backstore; with
// --no-check-config the open alone, as tcmu-runner opens the LUNs it finds at its start (and
// the backstores made without targetcli: ceph-iscsi, targetcli restoreconfig).
// --cycles K (ours, handler_rbd): the N LUNs are opened, each written and read once (one 4 KiB
// block in each of 8 extents, other extents each cycle), left to settle (ours: the policy moves
// what it will of them), unmapped (so the cluster's memstore gives their space back) and closed,
// K times; a line "cycle=i threads=T rss_kib=R ..." after each close shows whether the process
// keeps anything of a closed LUN. The LUNs take the RBD lock with their first write (ALUA
// implicit failover), so that a reopened LUN migrates at once. Before the first cycle the
// images' tiering is removed (forced: tier images and placement maps of earlier runs), so every
// run starts with every extent at home; ours: after the last, a line "moved_extents=M" counts
// the extents the cycles moved out (the maps' entries).
//
// --owner (ours, handler_rbd): each LUN is opened under ALUA implicit failover and written once
// (a 4 KiB block at its start), so that the process holds every LUN's lock and the LUNs idle as
// the active gateway's LUNs that had I/O do (without it they idle as standbys: never written).
// --mean-age-s A (ours, handler_rbd): the measure waits, past the settle, until the LUNs have been
// open A seconds on average. Idle LUNs grow with the time they are open (librbd's and ours), and
// opens take longer on a busy machine or through a slower handler: two targets measured at the
// same mean age had their LUNs open equally long, whatever their open times.
//
// Images "<prefix>-<i>" are created in the pool when missing (thin, --size-gib each) and left
// for the next run. Output: one line "target=... luns=N threads=T rss_kib=R base_threads=...
// base_rss_kib=... open_s=..." (base: the process before the first LUN was opened; ours and
// handler_rbd add idle_s, the time since the last open, and mean_age_s, the LUNs' mean time
// open, at the measure); with
// --print-open-times, before it a line "open=i ms=T" per LUN as it opens (how the time of one
// open grows with the LUNs already open). With --exit-open (ours, handler_rbd) the process ends
// right after that line with the LUNs still open (_exit: nothing closed or freed), so that a heap
// profiler run over it (heaptrack) counts what the open LUNs hold as not freed.
// The result line adds the C heap (mallinfo2, every arena): what malloc holds from the OS
// (heap_kib), of it in use (heap_used_kib) and free but kept (heap_free_kib); --malloc-info
// writes malloc_info's XML (per arena) at the measure. --sample-s S prints, every S seconds of
// the settle, a line "idle_s=T rss_kib=R heap_used_kib=U heap_free_kib=F": whether idle LUNs
// grow with time. --trim-after, once measured, calls malloc_trim(0) and prints a line "trimmed
// rss_kib=R released_kib=D": how much of the RSS measured was free heap pages malloc could give
// back.

#include <malloc.h>
#include <rbd/librbd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/tiered_lun_store.h"
#include "tests/harness/harness.h"
#include "tests/harness/rbd_client.h"

using namespace rbdtier::harness;

namespace {

struct ProcessUse {
    unsigned long threads = 0;
    unsigned long rss_kib = 0;
    unsigned long anon_kib = 0;  // of rss_kib: anonymous memory (heap, stacks)
    unsigned long file_kib = 0;  // of rss_kib: mapped files (the libraries' code and data)
};

// Threads and VmRSS of this process, as /proc/self/status gives them.
ProcessUse process_use() {
    ProcessUse use;
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "Threads:") {
            status >> use.threads;
        } else if (key == "VmRSS:") {
            status >> use.rss_kib;
        } else if (key == "RssAnon:") {
            status >> use.anon_kib;
        } else if (key == "RssFile:") {
            status >> use.file_kib;
        }
        status.ignore(4096, '\n');
    }
    return use;
}

// The C heap (mallinfo2, every arena), KiB: what malloc holds from the OS (arenas and mmap'd
// blocks), of it in use and free but kept, and the mmap'd blocks alone.
struct HeapUse {
    std::size_t held_kib = 0;
    std::size_t used_kib = 0;
    std::size_t free_kib = 0;
    std::size_t mmap_kib = 0;
};

HeapUse heap_use() {
    const struct mallinfo2 m = mallinfo2();
    return {(m.arena + m.hblkhd) / 1024, (m.uordblks + m.hblkhd) / 1024, m.fordblks / 1024,
            m.hblkhd / 1024};
}

// The file --malloc-info names, opened (created or truncated) before any LUN opens, so that a
// long run does not end without it; closed when destroyed.
class MallocInfoFile {
public:
    explicit MallocInfoFile(const std::string& path) : path_(path) {
        if (path.empty()) return;
        file_ = std::fopen(path.c_str(), "w");
        if (file_ == nullptr)
            throw std::runtime_error("--malloc-info " + path + ": " + std::strerror(errno));
    }
    ~MallocInfoFile() {
        if (file_ != nullptr) std::fclose(file_);
    }
    MallocInfoFile(const MallocInfoFile&) = delete;
    MallocInfoFile& operator=(const MallocInfoFile&) = delete;

    // Writes malloc_info's XML (per arena: what malloc holds from the OS and how much of it is
    // free), if a path was given; throws when it cannot be written.
    void write() {
        if (file_ == nullptr) return;
        const bool written = malloc_info(0, file_) == 0 && std::fflush(file_) == 0;
        if (!written)
            throw std::runtime_error("--malloc-info " + path_ + ": " + std::strerror(errno));
    }

private:
    std::string path_;
    FILE* file_ = nullptr;
};

// Opens image `name` with librbd; closes it when destroyed.
class PlainImage {
public:
    PlainImage(const IoCtx& io, const std::string& name) {
        if (int rc = rbd_open(io.get(), name.c_str(), &image_, nullptr); rc < 0)
            throw std::runtime_error("rbd_open " + name + ": " + std::to_string(rc));
    }
    ~PlainImage() { rbd_close(image_); }
    PlainImage(const PlainImage&) = delete;
    PlainImage& operator=(const PlainImage&) = delete;

private:
    rbd_image_t image_ = nullptr;
};

// A client of the cluster at `conf` (for the set-up and the count, not the measure).
rbdtier::ceph::Cluster connect_ceph(const std::string& conf) {
    rbdtier::ceph::ClusterOptions options;
    options.conf_path = conf;
    auto cluster = rbdtier::ceph::Cluster::connect(options);
    if (!cluster) throw std::runtime_error("connect: " + cluster.status().message());
    return std::move(cluster).value();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"scale_bench: threads and RSS of one process with N idle LUNs open"};
    std::string conf, target, so, pool = "hdd-a", tier = "nvme-a", prefix = "scale",
                                  policy = "predictive";
    unsigned luns = 10;
    std::uint64_t size_gib = 100;
    double settle_s = 3;
    app.add_option("--conf", conf, "ceph.conf")->envname("RBDTIER_CEPH_CONF")->required();
    app.add_option("--target", target, "ours, handler_rbd or librbd")
        ->required()
        ->check(CLI::IsMember({"ours", "handler_rbd", "librbd"}));
    app.add_option("--so", so, "the handler .so (ours, handler_rbd)");
    app.add_option("--luns", luns, "LUNs to open")->check(CLI::PositiveNumber);
    app.add_option("--pool", pool, "home pool of the images")->capture_default_str();
    app.add_option("--tier", tier, "second tier pool (ours)")->capture_default_str();
    app.add_option("--policy", policy, "tiering policy (ours)")->capture_default_str();
    app.add_option("--size-gib", size_gib, "image size")->capture_default_str();
    app.add_option("--settle-s", settle_s, "idle time before measuring")->capture_default_str();
    double mean_age_s = 0;
    app.add_option("--mean-age-s", mean_age_s,
                   "measure no sooner than the LUNs have been open this long on average (ours, "
                   "handler_rbd)")
        ->capture_default_str();
    app.add_option("--prefix", prefix, "image name prefix")->capture_default_str();
    unsigned cycles = 0;
    app.add_option("--cycles", cycles, "open/use/close cycles (ours, handler_rbd)");
    bool print_open_times = false;
    app.add_flag("--print-open-times", print_open_times,
                 "print each open's time: \"open=i ms=T\" (ours, handler_rbd)");
    bool exit_open = false;
    app.add_flag("--exit-open", exit_open,
                 "end the process after the measure, the LUNs open (ours, handler_rbd; for a heap "
                 "profiler)");
    double sample_s = 0;
    app.add_option("--sample-s", sample_s,
                   "print RSS and the C heap every this many seconds of the settle (ours, "
                   "handler_rbd): \"idle_s=T rss_kib=R heap_used_kib=U heap_free_kib=F\"");
    std::string malloc_info_path;
    app.add_option("--malloc-info", malloc_info_path,
                   "write malloc_info's XML (every arena) here at the measure (ours, handler_rbd)");
    bool trim_after = false;
    app.add_flag(
        "--trim-after", trim_after,
        "after the measure, malloc_trim(0) and a line \"trimmed rss_kib=R released_kib=D\": "
        "what of the RSS was free heap pages (ours, handler_rbd)");
    bool no_check_config = false;
    app.add_flag("--no-check-config", no_check_config,
                 "open without check_config first, as tcmu-runner at its start (ours, "
                 "handler_rbd)");
    bool owner = false;
    app.add_flag("--owner", owner,
                 "each LUN, once open, written once under ALUA implicit failover (one 4 KiB "
                 "block at its start): the process holds every LUN's lock, as the active "
                 "gateway of LUNs that had I/O (ours, handler_rbd)");
    CLI11_PARSE(app, argc, argv);
    if (target != "librbd" && so.empty()) {
        std::cerr << "scale_bench: --so is required for --target " << target << "\n";
        return 2;
    }

    try {
        MallocInfoFile malloc_info_file(malloc_info_path);
        const std::uint64_t size = size_gib << 30;
        std::vector<std::string> names;
        {
            // Images made (if missing) on a connection of its own, closed before measuring.
            RadosCluster cluster(conf);
            IoCtx io(cluster, pool);
            for (unsigned i = 0; i < luns; ++i) {
                names.push_back(prefix + "-" + std::to_string(i));
                int order = 0;
                const int rc = rbd_create(io.get(), names.back().c_str(), size, &order);
                if (rc < 0 && rc != -EEXIST)
                    throw std::runtime_error("rbd_create " + names.back() + ": " +
                                             std::to_string(rc));
            }
        }
        if (cycles > 0) {
            // Every extent home: what earlier runs moved would not move again (for both
            // handlers, so that each starts the same).
            auto cluster = connect_ceph(conf);
            for (const std::string& name : names) {
                auto removed = rbdtier::ceph::remove_lun_tiering(cluster, {pool, "", name}, {tier},
                                                                 /*force=*/true);
                if (!removed)
                    throw std::runtime_error("reset the tiering of " + name + ": " +
                                             removed.status().message());
            }
        }
        const ProcessUse base = process_use();
        const auto start = std::chrono::steady_clock::now();
        ProcessUse use;
        if (target == "librbd") {
            RadosCluster cluster(conf);
            IoCtx io(cluster, pool);
            std::vector<std::unique_ptr<PlainImage>> open;
            for (const std::string& name : names)
                open.push_back(std::make_unique<PlainImage>(io, name));
            const double open_s =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
            use = process_use();
            std::printf(
                "target=%s luns=%u threads=%lu rss_kib=%lu base_threads=%lu "
                "base_rss_kib=%lu open_s=%.1f\n",
                target.c_str(), luns, use.threads, use.rss_kib, base.threads, base.rss_kib, open_s);
            return 0;
        }
        Harness h(so);
        auto cfg_of = [&](const std::string& name) {
            std::string cfg = pool + "/" + name + ";conf=" + conf;
            if (target == "ours") cfg += ";tiers=" + pool + "+" + tier + ";policy=" + policy;
            return cfg;
        };
        auto device_of = [&](const std::string& name) {
            DeviceConfig dc{cfg_of(name), size, 512, 2048};
            dc.check_config = !no_check_config;
            return dc;
        };
        if (cycles > 0) {
            constexpr std::uint64_t kExtentBlocks = (std::uint64_t{4} << 20) / 512;
            constexpr std::uint64_t kExtentsPerCycle = 8;
            const std::uint64_t extents = size / (kExtentBlocks * 512);
            if (extents < kExtentsPerCycle)
                throw std::runtime_error("--cycles needs images of at least 32 MiB");
            std::vector<char> block(4096, 'c'), back(4096);
            for (unsigned c = 1; c <= cycles; ++c) {
                // Extents of this cycle's own (at home, unless the image wraps around).
                const std::uint64_t first =
                    (c - 1) * kExtentsPerCycle % (extents - kExtentsPerCycle + 1);
                {
                    std::vector<std::unique_ptr<Device>> open;
                    for (const std::string& name : names) {
                        DeviceConfig dc = device_of(name);
                        dc.implicit_failover = true;
                        open.push_back(h.open(dc));
                    }
                    for (auto& dev : open) {
                        for (std::uint64_t e = first; e < first + kExtentsPerCycle; ++e) {
                            const std::uint64_t lba = e * kExtentBlocks;
                            if (!dev->write(lba, block.data(), block.size()).ok() ||
                                !dev->read(lba, back.data(), back.size()).ok() || back != block)
                                throw std::runtime_error("I/O failed in cycle " +
                                                         std::to_string(c));
                        }
                    }
                    std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
                    for (auto& dev : open) {
                        for (std::uint64_t e = first; e < first + kExtentsPerCycle; ++e) {
                            const LbaRange range{e * kExtentBlocks,
                                                 static_cast<std::uint32_t>(kExtentBlocks)};
                            if (!dev->unmap(std::span(&range, 1)).ok())
                                throw std::runtime_error("unmap failed in cycle " +
                                                         std::to_string(c));
                        }
                    }
                }
                const ProcessUse after = process_use();
                const HeapUse heap = heap_use();
                std::printf(
                    "cycle=%u target=%s luns=%u threads=%lu rss_kib=%lu base_rss_kib=%lu "
                    "anon_kib=%lu file_kib=%lu heap_kib=%zu heap_free_kib=%zu mmap_kib=%zu\n",
                    c, target.c_str(), luns, after.threads, after.rss_kib, base.rss_kib,
                    after.anon_kib, after.file_kib, heap.held_kib, heap.free_kib, heap.mmap_kib);
                std::fflush(stdout);
            }
            if (target == "ours") {
                auto cluster = connect_ceph(conf);
                std::size_t moved = 0;
                for (const std::string& name : names) {
                    auto map = rbdtier::ceph::read_placement_map(cluster, pool, "", name);
                    if (!map)
                        throw std::runtime_error("placement map of " + name + ": " +
                                                 map.status().message());
                    moved += map->entries().size();
                }
                std::printf("moved_extents=%zu\n", moved);
            }
            return 0;
        }
        std::vector<std::unique_ptr<Device>> open;
        double open_ends_s = 0;  // sum of the opens' ends, seconds from `start`
        const std::vector<char> owner_block(4096, 'o');
        for (const std::string& name : names) {
            const auto opened = std::chrono::steady_clock::now();
            DeviceConfig dc = device_of(name);
            dc.implicit_failover = owner;
            open.push_back(h.open(dc));
            if (owner && !open.back()->write(0, owner_block.data(), owner_block.size()).ok())
                throw std::runtime_error("the write that takes the lock of " + name + " failed");
            open_ends_s +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (print_open_times) {
                // One line per open, as it ends, so that a run cut short still shows the curve.
                std::printf("open=%zu ms=%.1f\n", open.size() - 1,
                            std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - opened)
                                .count());
                std::fflush(stdout);
            }
        }
        const double open_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // Idle LUNs: the measure is of the steady state, after the rounds ran a few times, and
        // with --mean-age-s once the LUNs have been open that long on average.
        // With --sample-s, a line per sample on the way shows whether idle LUNs grow.
        const auto since_start = [&](double s) {
            return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(s));
        };
        const double mean_open_end_s = open_ends_s / static_cast<double>(open.size());
        const auto settled =
            std::max(std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(settle_s)),
                     since_start(mean_open_end_s + mean_age_s));
        const auto idle_from = std::chrono::steady_clock::now();
        while (sample_s > 0 &&
               std::chrono::steady_clock::now() + std::chrono::duration<double>(sample_s) <
                   settled) {
            std::this_thread::sleep_for(std::chrono::duration<double>(sample_s));
            const ProcessUse now = process_use();
            const HeapUse heap = heap_use();
            std::printf(
                "idle_s=%.0f rss_kib=%lu heap_used_kib=%zu heap_free_kib=%zu\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_from).count(),
                now.rss_kib, heap.used_kib, heap.free_kib);
            std::fflush(stdout);
        }
        std::this_thread::sleep_until(settled);
        use = process_use();
        const HeapUse heap = heap_use();
        const double now_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf(
            "target=%s luns=%u threads=%lu rss_kib=%lu base_threads=%lu base_rss_kib=%lu "
            "open_s=%.1f idle_s=%.1f mean_age_s=%.1f anon_kib=%lu heap_kib=%zu "
            "heap_used_kib=%zu heap_free_kib=%zu\n",
            target.c_str(), luns, use.threads, use.rss_kib, base.threads, base.rss_kib, open_s,
            now_s - open_s, now_s - mean_open_end_s, use.anon_kib, heap.held_kib, heap.used_kib,
            heap.free_kib);
        std::fflush(stdout);
        malloc_info_file.write();
        if (trim_after) {
            (void)malloc_trim(0);
            const ProcessUse trimmed = process_use();
            std::printf("trimmed rss_kib=%lu released_kib=%ld\n", trimmed.rss_kib,
                        static_cast<long>(use.rss_kib) - static_cast<long>(trimmed.rss_kib));
            std::fflush(stdout);
        }
        if (exit_open) _exit(0);
        open.clear();
    } catch (const std::exception& e) {
        std::cerr << "scale_bench: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
