// handler_bench — 4 KiB random read/write at queue depth 1 and 16 through
//   (a) our handler_rbdtier.so via the harness, (b) Debian's handler_rbd.so via the harness,
//   (c) raw librbd aio (rbd_aio_read/rbd_aio_write),
// on one cluster in one run, on the same freshly created and pre-filled image. Prints IOPS,
// p50 and p99 per case and the ratios ours/handler_rbd and ours/librbd.
//
//   handler_bench --conf CEPH_CONF [--pool nvme-a] [--ours PATH] [--stock PATH]
//                 [--seconds 5] [--span-mb 64] [--qd 1,16] [--rounds 1] [--ours-extra-cfg OPTS]

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/harness/harness.h"
#include "tests/harness/load.h"
#include "tests/harness/rbd_client.h"

using namespace rbdtier::harness;

namespace {

struct Case {
    std::string target;  // ours, handler_rbd, librbd
    std::string op;      // randread, randwrite
    unsigned qd;
    std::optional<LoadStats> stats;  // latest run; after all rounds, the median-IOPS run
    std::vector<LoadStats> runs;     // one per round
    std::string error;
};

LoadSpec spec_for(unsigned qd, double seconds, uint64_t span) {
    LoadSpec s;
    s.qd = qd;
    s.seconds = seconds;
    s.warmup_seconds = std::min(1.0, seconds / 4);
    s.io_size = 4096;
    s.span_bytes = span;
    s.seed = 7 + qd;
    return s;
}

void run_harness_cases(const std::string& target, const std::string& so, const std::string& cfg,
                       uint64_t size, double seconds, uint64_t span, std::vector<Case>& cases) {
    try {
        Harness h(so);
        auto dev = h.open({cfg, size, 512, 2048});
        for (Case& c : cases) {
            if (c.target != target) continue;
            const bool is_write = c.op == "randwrite";
            std::vector<std::vector<uint8_t>> bufs(c.qd, std::vector<uint8_t>(4096, 0xa5));
            c.stats = run_closed_loop(
                spec_for(c.qd, seconds, span), [&](unsigned slot, uint64_t off, OnDone done) {
                    const uint64_t lba = off / 512;
                    dev->submit(Request{is_write ? make_write16(lba, 8) : make_read16(lba, 8),
                                        {{bufs[slot].data(), 4096}}},
                                [done = std::move(done)](const Result& r) { done(r.ok()); });
                });
            c.runs.push_back(*c.stats);
            std::cerr << target << " " << c.op << " qd" << c.qd << ": " << c.stats->summary()
                      << "\n";
        }
    } catch (const std::exception& e) {
        for (Case& c : cases)
            if (c.target == target) c.error = e.what();
        std::cerr << target << ": " << e.what() << "\n";
    }
}

void librbd_done(rbd_completion_t comp, void* arg) {
    auto* done = static_cast<OnDone*>(arg);
    const ssize_t rc = rbd_aio_get_return_value(comp);
    rbd_aio_release(comp);
    (*done)(rc >= 0);
    delete done;
}

void run_librbd_cases(const IoCtx& io, const std::string& image, double seconds, uint64_t span,
                      std::vector<Case>& cases) {
    try {
        RbdImage img(io, image);
        for (Case& c : cases) {
            if (c.target != "librbd") continue;
            const bool is_write = c.op == "randwrite";
            std::vector<std::vector<char>> bufs(c.qd, std::vector<char>(4096, 0x5a));
            c.stats = run_closed_loop(
                spec_for(c.qd, seconds, span), [&](unsigned slot, uint64_t off, OnDone done) {
                    auto* arg = new OnDone(std::move(done));
                    rbd_completion_t comp;
                    rbd_aio_create_completion(arg, librbd_done, &comp);
                    int rc = is_write ? rbd_aio_write(img.get(), off, 4096, bufs[slot].data(), comp)
                                      : rbd_aio_read(img.get(), off, 4096, bufs[slot].data(), comp);
                    if (rc < 0) {
                        rbd_aio_release(comp);
                        (*arg)(false);
                        delete arg;
                    }
                });
            c.runs.push_back(*c.stats);
            std::cerr << "librbd " << c.op << " qd" << c.qd << ": " << c.stats->summary() << "\n";
        }
    } catch (const std::exception& e) {
        for (Case& c : cases)
            if (c.target == "librbd") c.error = e.what();
    }
}

const Case* find(const std::vector<Case>& cases, const std::string& t, const std::string& op,
                 unsigned qd) {
    for (const Case& c : cases)
        if (c.target == t && c.op == op && c.qd == qd && c.stats) return &c;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"handler_bench: ours vs handler_rbd vs librbd, 4 KiB random I/O"};
    std::string conf, pool = "nvme-a", ours,
                      stock = "/usr/lib/x86_64-linux-gnu/tcmu-runner/handler_rbd.so", ours_extra;
    double seconds = 5;
    uint64_t span_mb = 64;
    std::vector<unsigned> qds = {1, 16};
    unsigned rounds = 1;
    app.add_option("--conf", conf, "ceph.conf")->envname("RBDTIER_CEPH_CONF")->required();
    app.add_option("--pool", pool)->capture_default_str();
    app.add_option("--ours", ours, "handler_rbdtier.so (skipped when empty)");
    app.add_option("--stock", stock, "Debian's handler_rbd.so")->capture_default_str();
    app.add_option("--ours-extra-cfg", ours_extra, "options appended to our cfgstring");
    app.add_option("--seconds", seconds, "measured seconds per case")->capture_default_str();
    app.add_option("--span-mb", span_mb, "image size / random span in MiB")->capture_default_str();
    app.add_option("--qd", qds, "queue depths")->delimiter(',')->capture_default_str();
    app.add_option("--rounds", rounds, "rounds, targets in rotating order; median IOPS reported")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);

    const uint64_t span = span_mb << 20;
    std::vector<Case> cases;
    for (const char* t : {"ours", "handler_rbd", "librbd"})
        for (const char* op : {"randread", "randwrite"})
            for (unsigned qd : qds) cases.push_back({t, op, qd, std::nullopt, {}, ""});

    try {
        RadosCluster cluster(conf);
        IoCtx io(cluster, pool);
        const std::string image = "bench-" + std::to_string(getpid());
        create_image(io, image, span);
        {
            // Pre-fill so reads hit real objects, not holes.
            RbdImage img(io, image);
            std::vector<char> chunk(4u << 20, 0x3c);
            for (uint64_t off = 0; off < span; off += chunk.size())
                img.write(off, chunk.data(), chunk.size());
        }
        const std::string cfg = pool + "/" + image + ";conf=" + conf;
        const std::string ours_cfg = ours_extra.empty() ? cfg : cfg + ";" + ours_extra;
        for (unsigned r = 0; r < rounds; ++r) {
            for (unsigned k = 0; k < 3; ++k) {  // rotate the order: spread drift and warm-up
                const unsigned which = (r + k) % 3;
                if (which == 0)
                    run_librbd_cases(io, image, seconds, span, cases);
                else if (which == 1)
                    run_harness_cases("handler_rbd", stock, cfg, span, seconds, span, cases);
                else if (!ours.empty())
                    run_harness_cases("ours", ours, ours_cfg, span, seconds, span, cases);
            }
        }
        remove_image(io, image);
        for (Case& c : cases) {
            if (c.runs.empty()) continue;
            std::sort(c.runs.begin(), c.runs.end(),
                      [](const LoadStats& a, const LoadStats& b) { return a.iops < b.iops; });
            c.stats = c.runs[c.runs.size() / 2];
        }
    } catch (const std::exception& e) {
        std::cerr << "handler_bench: " << e.what() << "\n";
        return 2;
    }

    std::printf("\n%-12s %-10s %4s %10s %10s %10s\n", "target", "op", "qd", "IOPS", "p50 us",
                "p99 us");
    bool any_error = false;
    for (const Case& c : cases) {
        if (c.stats) {
            std::printf("%-12s %-10s %4u %10.0f %10.1f %10.1f%s\n", c.target.c_str(), c.op.c_str(),
                        c.qd, c.stats->iops, c.stats->p50_us, c.stats->p99_us,
                        c.stats->errors ? "  (I/O errors!)" : "");
            any_error = any_error || c.stats->errors;
        } else {
            std::printf("%-12s %-10s %4u %10s %10s %10s  %s\n", c.target.c_str(), c.op.c_str(),
                        c.qd, "n/a", "n/a", "n/a", c.error.empty() ? "skipped" : c.error.c_str());
        }
    }
    std::printf("\n%-10s %4s %22s %22s\n", "op", "qd", "ours/handler_rbd IOPS", "ours/librbd IOPS");
    for (const char* op : {"randread", "randwrite"}) {
        for (unsigned qd : qds) {
            const Case* o = find(cases, "ours", op, qd);
            const Case* s = find(cases, "handler_rbd", op, qd);
            const Case* l = find(cases, "librbd", op, qd);
            auto ratio = [&](const Case* b) {
                return (o && b && b->stats->iops > 0) ? o->stats->iops / b->stats->iops : -1.0;
            };
            double rs = ratio(s), rl = ratio(l);
            char a[32] = "n/a", b[32] = "n/a";
            if (rs >= 0) std::snprintf(a, sizeof a, "%.2f", rs);
            if (rl >= 0) std::snprintf(b, sizeof b, "%.2f", rl);
            std::printf("%-10s %4u %22s %22s\n", op, qd, a, b);
        }
    }
    return any_error ? 1 : 0;
}
