// handler_bench — 4 KiB random read/write at queue depth 1 and 16 through
//   handler_rbd  Debian's handler_rbd.so via the harness,
//   ours         our handler_rbdtier.so via the harness, the LUN untiered,
//   ours-tiered  our handler_rbdtier.so via the harness, the LUN tiered (--tiered-cfg, by default
//                tiers=nvme-a+nvme-b;policy=predictive) with every extent at home,
//   librbd       raw librbd aio (rbd_aio_read/rbd_aio_write),
// on one cluster in one run, with one image per target, all alike: the same size and pool,
// created, pre-filled (every object written whole) and preconditioned the same way
// (--precondition-writes random 4 KiB writes through librbd at queue depth 16, so the OSDs' per-op
// state — PG logs at their trim length, overwritten objects — is the steady one before the first
// measured run; bench/handler/run.sh starts its cluster --steady, where that takes a few thousand
// writes). No target keeps an image: an image's objects fall on the pool's PGs as their names
// hash, unevenly with a few objects per PG, and that alone moves a target's IOPS by up to a
// quarter; so every case runs each target on every image, as long on each.
//
// Round r, per op and queue depth, runs n rotations (n targets) twice, as a palindrome shifted
// by r (0 1 .. n-1 n-1 .. 1 0: each pairing of target and image at the same mean time of the
// round): rotation s opens every target's LUN on its image of the rotation (target t on image
// (t + s) mod n; ours and ours-tiered as two LUNs of one gateway, as in production), runs each
// once unmeasured, then alternates them in slices of about --slice-seconds: in an order rotated
// by r, the case and the rotation (no target always first after the warm-ups), then reversed,
// and so on (A B C D D C B A A B C D ...), each target --seconds / 2n in all (one rotation,
// --seconds, for one target), and closes them; slice k draws its offsets from one seed for every
// target. A target's figure of the round is its slices of every rotation as one. So every
// target meets the same mix of the shared machine's moods, sub-second apart, sits at the same
// mean time of the round, runs as often just before as just after each other one, and runs on
// every image as long as every other one. A tiered LUN's measured slices begin no sooner than
// --settle-seconds after it opened (the rotation waits, idle, after the warm-ups if it must): a
// predictive policy is made by the LUN's first round after its first I/O (engine/policy/
// deferred_policy.h) from the I/O kept until then, and the bench reopens every LUN each rotation,
// so without the wait what a LUN does once in its life (make its policy) would be charged to its
// per-command figures every rotation. The default, 1.5 s, covers the first two rounds of the
// default 1 s round (the first is due at open, before any I/O); 0 measures right after the
// warm-ups. The process's CPU
// time of a slice includes what the other open LUNs do meanwhile (a tiered LUN's rounds thread),
// so the CPU-per-op figures charge every target a share of that.
//
// Every slice prints its figures ("round 1.3": round 1, slice 3) and its measured window on the
// steady clock (bench/handler/profile.sh counts the samples within it), and every round each
// target's figure; the end prints per round each target's IOPS and the ratios ours/handler_rbd and
// tiered/ours of that round; per case the median-IOPS round (IOPS, p50, p99) with the medians
// over the rounds of the whole process's CPU time and context switches per operation
// (tests/harness/load.h); and, per op and queue depth, the median of the per-round ratios with
// their lowest and highest, by IOPS and by CPU time per operation.
//
// The tiered LUN keeps every extent at home: every image is pinned home whole (image metadata
// rbdtier.pin = home, what `rbdtier lun evacuate` sets; every image gets the key, the untiered
// targets ignore it), so the policy profiles and plans as ever but no extent moves. After each
// rotation the bench reads the placement map and refuses the tiered figure of the round if any
// extent is away from home. The placement maps and tier images are removed at the end with the
// images.
//
//   handler_bench --conf CEPH_CONF [--pool nvme-a] [--ours PATH] [--stock PATH]
//                 [--targets handler_rbd,ours,ours-tiered,librbd] [--seconds 5]
//                 [--span-mb 64] [--qd 1,16] [--rounds 1] [--ours-extra-cfg OPTS]
//                 [--tiered-cfg OPTS] [--precondition-writes 4000] [--slice-seconds 0.5]
//                 [--settle-seconds 1.5]

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/lun_lifecycle.h"
#include "ceph/tiered_lun_store.h"
#include "tests/harness/harness.h"
#include "tests/harness/load.h"
#include "tests/harness/rbd_client.h"

using namespace rbdtier::harness;

namespace {

constexpr const char* kHandlerRbd = "handler_rbd";
constexpr const char* kOurs = "ours";
constexpr const char* kOursTiered = "ours-tiered";
constexpr const char* kLibrbd = "librbd";

// One target, one op, one queue depth: its run of each round (none when that round failed).
struct Case {
    std::string target;
    std::string op;  // randread, randwrite
    unsigned qd;
    std::vector<std::optional<LoadStats>> rounds;
    std::string error;  // the first failure
};

// What a target runs through: a handler .so and the options its cfgstring adds to the image's
// "pool/image;conf=...", or raw librbd.
struct Target {
    std::string name;
    std::string so;       // empty for librbd
    std::string options;  // appended to the cfgstring ("" for none)
};

// The cfgstring that opens `image` of `pool` through `t`.
std::string cfg_for(const Target& t, const std::string& pool, const std::string& image,
                    const std::string& conf) {
    const std::string cfg = pool + "/" + image + ";conf=" + conf;
    return t.options.empty() ? cfg : cfg + ";" + t.options;
}

// The image target `t` runs on in rotation `s` of a case: every target on every image once
// over n rotations, no two targets on one image in the same rotation.
std::size_t image_of(std::size_t t, std::size_t s, std::size_t images) {
    return (t + s) % images;
}

// The rotations of round r with n images, in the order they run: a palindrome (0 1 .. n-1
// n-1 .. 1 0, shifted by r), so each target's time on each image sits at the same mean time of
// the round and a drift of the machine's load over the round favours no pairing. One rotation
// when there is one image.
std::vector<std::size_t> rotations(std::size_t n, unsigned r) {
    std::vector<std::size_t> order;
    for (std::size_t k = 0; k < n; ++k) order.push_back((k + r) % n);
    if (n > 1)
        for (std::size_t k = n; k-- > 0;) order.push_back((k + r) % n);
    return order;
}

// One slice of a target's round: `seconds` measured after a short warm-up, the offsets drawn from
// `seed` (the same for every target in a slice: the same work for each).
LoadSpec spec_for(unsigned qd, double seconds, uint64_t span, uint64_t seed) {
    LoadSpec s;
    s.qd = qd;
    s.seconds = seconds;
    s.warmup_seconds = std::min(0.1, seconds / 4);
    s.io_size = 4096;
    s.span_bytes = span;
    s.seed = seed;
    return s;
}

void note_error(Case& c, const std::string& what) {
    if (c.error.empty()) c.error = what;
    std::cerr << c.target << " " << c.op << " qd" << c.qd << ": " << what << "\n";
}

// `measured_end`, when given, is when a slice's measured seconds ended (the steady clock:
// CLOCK_MONOTONIC, which `perf record -k monotonic` stamps samples with): the line then names
// the slice's measured window, "at START-END s", for bench/handler/own_cost.py.
void print_run(const Case& c, unsigned round, const std::string& part, const LoadStats& stats,
               std::optional<std::chrono::steady_clock::time_point> measured_end = std::nullopt) {
    std::cerr << "round " << round + 1 << part << " " << c.target << " " << c.op << " qd" << c.qd
              << ": " << stats.summary();
    if (measured_end) {
        const double end = std::chrono::duration<double>(measured_end->time_since_epoch()).count();
        char window[64];
        std::snprintf(window, sizeof window, " at %.6f-%.6f s", end - stats.seconds, end);
        std::cerr << window;
    }
    std::cerr << "\n";
}

void librbd_done(rbd_completion_t comp, void* arg) {
    auto* done = static_cast<OnDone*>(arg);
    const ssize_t rc = rbd_aio_get_return_value(comp);
    rbd_aio_release(comp);
    (*done)(rc >= 0);
    delete done;
}

// A target's LUN (through its handler, in the harness that loaded that handler) or librbd image,
// open for the slices of one case of one round. Not thread-safe; one slice runs at a time.
class OpenTarget {
public:
    // `cfg` is the cfgstring (through `harness`), `image` the image (raw librbd, no harness).
    OpenTarget(Harness* harness, const std::string& cfg, const IoCtx& io, const std::string& image,
               uint64_t span)
        : span_(span) {
        if (harness)
            device_ = harness->open({cfg, span, 512, 2048});
        else
            image_ = std::make_unique<RbdImage>(io, image);
    }

    // One slice of closed-loop 4 KiB I/O; throws on a failure to run it.
    LoadStats run(bool is_write, unsigned qd, double seconds, uint64_t seed) {
        std::vector<std::vector<uint8_t>> bufs(qd, std::vector<uint8_t>(4096, 0xa5));
        const LoadSpec spec = spec_for(qd, seconds, span_, seed);
        if (device_) {
            return run_closed_loop(spec, [&](unsigned slot, uint64_t off, OnDone done) {
                const uint64_t lba = off / 512;
                device_->submit(Request{is_write ? make_write16(lba, 8) : make_read16(lba, 8),
                                        {{bufs[slot].data(), 4096}}},
                                [done = std::move(done)](const Result& r) { done(r.ok()); });
            });
        }
        return run_closed_loop(spec, [&](unsigned slot, uint64_t off, OnDone done) {
            auto* arg = new OnDone(std::move(done));
            rbd_completion_t comp;
            rbd_aio_create_completion(arg, librbd_done, &comp);
            char* buf = reinterpret_cast<char*>(bufs[slot].data());
            const int rc = is_write ? rbd_aio_write(image_->get(), off, 4096, buf, comp)
                                    : rbd_aio_read(image_->get(), off, 4096, buf, comp);
            if (rc < 0) {
                rbd_aio_release(comp);
                (*arg)(false);
                delete arg;
            }
        });
    }

private:
    uint64_t span_;
    std::unique_ptr<Device> device_;
    std::unique_ptr<RbdImage> image_;
};

// The pools of "tiers=a+b" in a cfgstring's options ("" when it names none).
std::vector<std::string> tier_pools_of(const std::string& options) {
    std::vector<std::string> pools;
    const std::string key = "tiers=";
    std::size_t at = options.find(key);
    if (at == std::string::npos) return pools;
    at += key.size();
    const std::string list = options.substr(at, options.find(';', at) - at);
    std::size_t from = 0;
    while (from <= list.size()) {
        const std::size_t end = list.find_first_of("+,", from);
        const std::string pool = list.substr(from, end - from);
        if (!pool.empty()) pools.push_back(pool);
        if (end == std::string::npos) break;
        from = end + 1;
    }
    return pools;
}

// How many extents of the LUN the placement map puts away from home (0 without a map).
std::optional<std::size_t> extents_away(const std::string& conf, const std::string& pool,
                                        const std::string& image, std::string& error) {
    rbdtier::ceph::ClusterOptions o;
    o.conf_path = conf;
    auto cluster = rbdtier::ceph::Cluster::connect(o);
    if (!cluster) {
        error = "connect: " + cluster.status().message();
        return std::nullopt;
    }
    auto map = rbdtier::ceph::read_placement_map(*cluster, pool, "", image);
    if (!map) {
        error = "placement map: " + map.status().message();
        return std::nullopt;
    }
    return map->entries().size();
}

template <typename Cases>
auto find(Cases& cases, const std::string& t, const std::string& op, unsigned qd)
    -> decltype(&cases.front()) {
    for (auto& c : cases)
        if (c.target == t && c.op == op && c.qd == qd) return &c;
    return nullptr;
}

// The process's CPU time per operation of `c` in `round`, if that round ran.
std::optional<double> cpu_in(const Case* c, unsigned round) {
    if (!c || !c->rounds[round] || c->rounds[round]->ops == 0) return std::nullopt;
    return c->rounds[round]->cpu_us_per_op();
}

// The IOPS of `c` in `round`, if that round ran.
std::optional<double> iops_in(const Case* c, unsigned round) {
    if (!c || !c->rounds[round]) return std::nullopt;
    return c->rounds[round]->iops;
}

std::optional<double> ratio(std::optional<double> a, std::optional<double> b) {
    if (!a || !b || *b <= 0) return std::nullopt;
    return *a / *b;
}

template <typename T>
std::optional<T> median(std::vector<T> v, bool (*less)(const T&, const T&)) {
    if (v.empty()) return std::nullopt;
    std::sort(v.begin(), v.end(), less);
    return v[v.size() / 2];
}

// `writes` random 4 KiB writes (offsets from a fixed seed) over [0, span), 16 in flight.
void precondition(const RbdImage& img, uint64_t span, uint64_t writes) {
    constexpr unsigned kInFlight = 16;
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<uint64_t> block(0, span / 4096 - 1);
    std::vector<char> buf(4096, 0x3c);
    for (uint64_t done = 0; done < writes;) {
        std::vector<rbd_completion_t> batch;
        for (; batch.size() < kInFlight && done < writes; ++done) {
            rbd_completion_t comp;
            check_rc(rbd_aio_create_completion(nullptr, nullptr, &comp),
                     "rbd_aio_create_completion");
            const int rc = rbd_aio_write(img.get(), block(rng) * 4096, 4096, buf.data(), comp);
            if (rc < 0) rbd_aio_release(comp);
            check_rc(rc, "rbd_aio_write (precondition)");
            batch.push_back(comp);
        }
        int first_error = 0;
        for (rbd_completion_t comp : batch) {
            rbd_aio_wait_for_complete(comp);
            const ssize_t rc = rbd_aio_get_return_value(comp);
            if (rc < 0 && first_error == 0) first_error = static_cast<int>(rc);
            rbd_aio_release(comp);
        }
        check_rc(first_error, "rbd_aio_write (precondition)");
    }
}

std::string fmt(std::optional<double> v, const char* format) {
    if (!v) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, format, *v);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "handler_bench: handler_rbd vs ours untiered vs ours tiered vs librbd, 4 KiB "
        "random I/O"};
    std::string conf, pool = "nvme-a", ours,
                      stock = "/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so", ours_extra,
                      tiered_extra = "tiers=nvme-a+nvme-b;policy=predictive";
    double seconds = 5;
    uint64_t span_mb = 64;
    std::vector<unsigned> qds = {1, 16};
    std::vector<std::string> ops = {"randread", "randwrite"};
    std::vector<std::string> targets = {kHandlerRbd, kOurs, kOursTiered, kLibrbd};
    unsigned rounds = 1;
    uint64_t precondition_writes = 4000;
    double slice_seconds = 0.5;
    double settle_seconds = 1.5;
    app.add_option("--conf", conf, "ceph.conf")->envname("RBDTIER_CEPH_CONF")->required();
    app.add_option("--pool", pool, "the image's pool, the home of the tiered LUN")
        ->capture_default_str();
    app.add_option("--ours", ours, "handler_rbdtier.so (ours and ours-tiered skipped when empty)");
    app.add_option("--stock", stock, "Debian's handler_rbd.so")->capture_default_str();
    app.add_option("--targets", targets, "targets to run, each once per round")
        ->delimiter(',')
        ->check(CLI::IsMember({kHandlerRbd, kOurs, kOursTiered, kLibrbd}))
        ->capture_default_str();
    app.add_option("--ours-extra-cfg", ours_extra, "options appended to ours' cfgstring");
    app.add_option("--tiered-cfg", tiered_extra,
                   "options appended to ours-tiered's cfgstring (its tiers, home first)")
        ->capture_default_str();
    app.add_option("--seconds", seconds, "measured seconds per case")->capture_default_str();
    app.add_option("--span-mb", span_mb, "image size / random span in MiB")->capture_default_str();
    app.add_option("--qd", qds, "queue depths")->delimiter(',')->capture_default_str();
    app.add_option("--ops", ops, "operations to run")
        ->delimiter(',')
        ->check(CLI::IsMember({"randread", "randwrite"}))
        ->capture_default_str();
    app.add_option("--precondition-writes", precondition_writes,
                   "random 4 KiB writes to each image before the first measured run")
        ->capture_default_str();
    app.add_option("--settle-seconds", settle_seconds,
                   "a tiered LUN's measured slices begin no sooner after it opened")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--slice-seconds", slice_seconds,
                   "targets alternate in slices of about this long within a round")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--rounds", rounds, "rounds, targets in rotating order; medians reported")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);

    const std::vector<std::string> tier_pools = tier_pools_of(tiered_extra);
    const bool wants_tiered =
        std::find(targets.begin(), targets.end(), kOursTiered) != targets.end();
    if (wants_tiered && (tier_pools.size() < 2 || tier_pools.front() != pool)) {
        std::cerr << "handler_bench: --tiered-cfg '" << tiered_extra << "' must name tiers=" << pool
                  << "+<other pools> (the home pool first)\n";
        return 2;
    }

    const uint64_t span = span_mb << 20;
    std::vector<Case> cases;
    for (const std::string& t : targets)
        for (const std::string& op : ops)
            for (unsigned qd : qds)
                cases.push_back({t, op, qd, std::vector<std::optional<LoadStats>>(rounds), ""});

    std::vector<std::string> images;  // created so far, removed at the end
    try {
        RadosCluster cluster(conf);
        IoCtx io(cluster, pool);
        const auto remove_images = [&] {
            for (const std::string& image : images) {
                try {
                    remove_image(io, image);
                } catch (const std::exception& e) {
                    std::cerr << "handler_bench: " << e.what() << "\n";
                }
            }
        };
        std::vector<Target> plan;
        for (const std::string& t : targets) {
            if (ours.empty() && (t == kOurs || t == kOursTiered)) continue;  // "skipped"
            if (t == kHandlerRbd) plan.push_back({t, stock, ""});
            if (t == kLibrbd) plan.push_back({t, "", ""});
            if (t == kOurs) plan.push_back({t, ours, ours_extra});
            if (t == kOursTiered) plan.push_back({t, ours, tiered_extra});
        }
        // One image per target, alike: the same size and pool, pre-filled so reads hit real
        // objects, not holes, then overwritten as the runs will, so the first run meets the OSDs
        // in the state the last one leaves them. The images live side by side for the whole run.
        // Alike is not the same: an image's objects land on the pool's PGs as their names hash,
        // and with a span of a few objects per PG one image may put 6 of its 16 objects in one
        // PG (whose ops the OSD runs one at a time) where another puts at most 2: measured, the
        // same handler on two such images differs by up to 25% at QD16. So no target keeps an
        // image: each case runs in rotations, target t on image (t + s) mod n in rotation s,
        // and a target's figure of the round covers every image equally.
        for (std::size_t i = 0; i < plan.size(); ++i) {
            const std::string image = "bench-" + std::to_string(getpid()) + "-" + std::to_string(i);
            create_image(io, image, span);
            images.push_back(image);
            RbdImage img(io, image);
            std::vector<char> chunk(4u << 20, 0x3c);
            for (uint64_t off = 0; off < span; off += chunk.size())
                img.write(off, chunk.data(), chunk.size());
            precondition(img, span, precondition_writes);
            check_rc(rbd_metadata_set(img.get(), rbdtier::ceph::kHomePinKey,
                                      rbdtier::ceph::kHomePinValue),
                     "rbd_metadata_set " + std::string(rbdtier::ceph::kHomePinKey));
        }
        std::vector<bool> tiered_store(images.size(), false);  // opened by ours-tiered
        // One harness per handler .so (ours and ours-tiered are two LUNs of one gateway).
        std::vector<std::pair<std::string, std::unique_ptr<Harness>>> harnesses;
        const auto harness_for = [&](const std::string& so) -> Harness* {
            if (so.empty()) return nullptr;
            for (auto& [path, h] : harnesses)
                if (path == so) return h.get();
            harnesses.emplace_back(so, std::make_unique<Harness>(so));
            return harnesses.back().second.get();
        };
        // Rotations, slices and seeds: see the top of this file.
        std::vector<std::pair<std::string, unsigned>> kinds;
        for (const std::string& op : ops)
            for (unsigned qd : qds) kinds.emplace_back(op, qd);
        const std::size_t n = plan.size();
        const double rotation_seconds =
            seconds / static_cast<double>(std::max<std::size_t>(rotations(n, 0).size(), 1));
        const unsigned slices =
            std::max(2u, 2 * static_cast<unsigned>(rotation_seconds / slice_seconds / 2 + 0.5));
        const double slice = rotation_seconds / slices;
        for (unsigned r = 0; r < rounds && n > 0; ++r) {
            for (std::size_t j = 0; j < kinds.size(); ++j) {
                const bool is_write = kinds[j].first == "randwrite";
                const unsigned qd = kinds[j].second;
                std::vector<std::vector<LoadStats>> parts(n);
                std::vector<bool> failed(n, false);  // no figure this round
                const std::vector<std::size_t> order_of_rotations = rotations(n, r);
                for (std::size_t rot = 0; rot < order_of_rotations.size(); ++rot) {
                    const std::size_t s = order_of_rotations[rot];
                    std::vector<std::unique_ptr<OpenTarget>> open(n);
                    // When the tiered LUNs of the rotation have settled (see the top of this file).
                    auto settled = std::chrono::steady_clock::now();
                    for (std::size_t t = 0; t < n; ++t) {
                        if (failed[t]) continue;
                        Case& c = *find(cases, plan[t].name, kinds[j].first, qd);
                        const std::string& image = images[image_of(t, s, n)];
                        try {
                            if (plan[t].name == kOursTiered) tiered_store[image_of(t, s, n)] = true;
                            const auto opening = std::chrono::steady_clock::now();
                            open[t] = std::make_unique<OpenTarget>(
                                harness_for(plan[t].so), cfg_for(plan[t], pool, image, conf), io,
                                image, span);
                            if (plan[t].name == kOursTiered)
                                settled = std::max(
                                    settled,
                                    opening + std::chrono::duration_cast<
                                                  std::chrono::steady_clock::duration>(
                                                  std::chrono::duration<double>(settle_seconds)));
                            open[t]->run(is_write, qd, slice, 1);  // warm-up, not counted
                        } catch (const std::exception& e) {
                            note_error(c, e.what());
                            open[t].reset();
                            failed[t] = true;
                        }
                    }
                    std::this_thread::sleep_until(settled);
                    std::vector<std::size_t> order;
                    for (std::size_t k = 0; k < n; ++k) order.push_back((r + j + rot + k) % n);
                    for (unsigned k = 0; k < slices; ++k) {
                        const unsigned index = static_cast<unsigned>(rot) * slices + k;
                        const uint64_t seed = 7 + qd + 1000ull * (r * kinds.size() + j) + index;
                        for (std::size_t t : order) {
                            if (!open[t]) continue;
                            Case& c = *find(cases, plan[t].name, kinds[j].first, qd);
                            try {
                                parts[t].push_back(open[t]->run(is_write, qd, slice, seed));
                                print_run(c, r, "." + std::to_string(index + 1), parts[t].back(),
                                          std::chrono::steady_clock::now());
                            } catch (const std::exception& e) {
                                note_error(c, e.what());
                                open[t].reset();
                                failed[t] = true;
                            }
                        }
                        std::reverse(order.begin(), order.end());
                    }
                    open.clear();  // every LUN closed before the map is read
                    for (std::size_t t = 0; t < n; ++t) {
                        if (failed[t] || plan[t].name != kOursTiered) continue;
                        // The figure is the all-at-home case only if nothing moved.
                        Case& c = *find(cases, plan[t].name, kinds[j].first, qd);
                        std::string error;
                        const auto away =
                            extents_away(conf, pool, images[image_of(t, s, n)], error);
                        if (!away || *away > 0) {
                            note_error(
                                c, away ? std::to_string(*away) + " extents left home in round " +
                                              std::to_string(r + 1) + ": not the all-at-home case"
                                        : error);
                            failed[t] = true;
                        }
                    }
                }
                for (std::size_t t = 0; t < n; ++t) {
                    if (failed[t]) continue;
                    Case& c = *find(cases, plan[t].name, kinds[j].first, qd);
                    c.rounds[r] = combine(parts[t]);
                    print_run(c, r, " ", *c.rounds[r]);
                }
            }
        }
        harnesses.clear();
        if (std::find(tiered_store.begin(), tiered_store.end(), true) != tiered_store.end()) {
            rbdtier::ceph::ClusterOptions o;
            o.conf_path = conf;
            if (auto c = rbdtier::ceph::Cluster::connect(o)) {
                const std::vector<std::string> others(tier_pools.begin() + 1, tier_pools.end());
                for (std::size_t i = 0; i < images.size(); ++i) {
                    if (!tiered_store[i]) continue;
                    if (auto st =
                            rbdtier::ceph::remove_tiered_lun_store(*c, pool, "", images[i], others);
                        !st)
                        std::cerr << "handler_bench: remove the tiered LUN's store: "
                                  << st.message() << "\n";
                }
            }
        }
        remove_images();
    } catch (const std::exception& e) {
        std::cerr << "handler_bench: " << e.what() << "\n";
        return 2;
    }

    // Every round: each target's IOPS and that round's ratios.
    const auto by = [&](const char* t, const std::string& op, unsigned qd) {
        return find(cases, t, op, qd);
    };
    std::printf("\n%-5s %-10s %4s %12s %12s %12s %12s %16s %14s\n", "round", "op", "qd",
                kHandlerRbd, kOurs, kOursTiered, kLibrbd, "ours/handler_rbd", "tiered/ours");
    for (const std::string& op : ops)
        for (unsigned qd : qds)
            for (unsigned r = 0; r < rounds; ++r) {
                const auto s = iops_in(by(kHandlerRbd, op, qd), r);
                const auto o = iops_in(by(kOurs, op, qd), r);
                const auto t = iops_in(by(kOursTiered, op, qd), r);
                const auto l = iops_in(by(kLibrbd, op, qd), r);
                std::printf("%-5u %-10s %4u %12s %12s %12s %12s %16s %14s\n", r + 1, op.c_str(), qd,
                            fmt(s, "%.0f").c_str(), fmt(o, "%.0f").c_str(), fmt(t, "%.0f").c_str(),
                            fmt(l, "%.0f").c_str(), fmt(ratio(o, s), "%.3f").c_str(),
                            fmt(ratio(t, o), "%.3f").c_str());
            }

    // Per case, the median-IOPS round, and the medians over the rounds of the process's CPU time
    // and context switches per operation.
    const auto by_value = +[](const double& a, const double& b) { return a < b; };
    std::printf("\n%-12s %-10s %4s %10s %10s %10s %12s %10s\n", "target", "op", "qd", "median IOPS",
                "p50 us", "p99 us", "cpu us/op", "cs/op");
    bool any_error = false;
    const auto by_iops = +[](const LoadStats& a, const LoadStats& b) { return a.iops < b.iops; };
    for (const Case& c : cases) {
        std::vector<LoadStats> ran;
        for (const auto& s : c.rounds)
            if (s) ran.push_back(*s);
        const auto m = median(ran, by_iops);
        std::vector<double> cpu, cs;
        for (const LoadStats& s : ran) {
            any_error = any_error || s.errors;
            cpu.push_back(s.cpu_us_per_op());
            cs.push_back(s.switches_per_op());
        }
        if (m)
            std::printf("%-12s %-10s %4u %10.0f %10.1f %10.1f %12.1f %10.2f%s%s\n",
                        c.target.c_str(), c.op.c_str(), c.qd, m->iops, m->p50_us, m->p99_us,
                        *median(cpu, by_value), *median(cs, by_value),
                        ran.size() < rounds ? "  (some rounds failed)" : "",
                        m->errors ? "  (I/O errors!)" : "");
        else
            std::printf("%-12s %-10s %4u %10s %10s %10s  %s\n", c.target.c_str(), c.op.c_str(),
                        c.qd, "n/a", "n/a", "n/a", c.error.empty() ? "skipped" : c.error.c_str());
        any_error = any_error || !c.error.empty();
    }

    // Per op and queue depth, the median of the per-round ratios (each pairs runs of one round),
    // with the lowest and highest of them.
    const auto spread = [&](std::vector<double> v) -> std::string {
        const auto m = median(v, by_value);
        if (!m) return "n/a";
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        char buf[48];
        std::snprintf(buf, sizeof buf, "%.3f [%.3f-%.3f]", *m, *lo, *hi);
        return buf;
    };
    std::printf("\n%-10s %4s %24s %22s %22s\n", "op", "qd", "ours/handler_rbd", "tiered/ours",
                "ours/librbd");
    std::printf("%-10s %4s %24s %22s %22s\n", "", "", "median [min-max]", "median [min-max]",
                "median [min-max]");
    for (const std::string& op : ops)
        for (unsigned qd : qds) {
            std::vector<double> os, to, ol;
            for (unsigned r = 0; r < rounds; ++r) {
                const auto o = iops_in(by(kOurs, op, qd), r);
                if (auto x = ratio(o, iops_in(by(kHandlerRbd, op, qd), r))) os.push_back(*x);
                if (auto x = ratio(iops_in(by(kOursTiered, op, qd), r), o)) to.push_back(*x);
                if (auto x = ratio(o, iops_in(by(kLibrbd, op, qd), r))) ol.push_back(*x);
            }
            std::printf("%-10s %4u %24s %22s %22s\n", op.c_str(), qd, spread(os).c_str(),
                        spread(to).c_str(), spread(ol).c_str());
        }

    // The same pairs by the process's CPU time per operation (cost, not speed: a busy shared
    // machine moves it far less than IOPS), the median of the per-round ratios.
    std::printf("\n%-10s %4s %24s %22s\n", "op", "qd", "cpu/op ours/handler_rbd",
                "cpu/op tiered/ours");
    for (const std::string& op : ops)
        for (unsigned qd : qds) {
            std::vector<double> os, to;
            for (unsigned r = 0; r < rounds; ++r) {
                const auto o = cpu_in(by(kOurs, op, qd), r);
                if (auto x = ratio(o, cpu_in(by(kHandlerRbd, op, qd), r))) os.push_back(*x);
                if (auto x = ratio(cpu_in(by(kOursTiered, op, qd), r), o)) to.push_back(*x);
            }
            std::printf("%-10s %4u %24s %22s\n", op.c_str(), qd, spread(os).c_str(),
                        spread(to).c_str());
        }
    return any_error ? 1 : 0;
}
