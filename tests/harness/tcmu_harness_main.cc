// tcmu-harness — drive a tcmu-runner handler plugin without tcmu-runner or a kernel.
//
//   tcmu-harness --handler PATH --cfg STRING --size BYTES [--bs 512]   open + close
//   tcmu-harness --handler PATH --battery --conf CEPH_CONF [--pool nvme-a] [--subtype rbd]
//                [--extra-cfg OPTS] [--known-librbd-caw-offset-bug] [--implicit-failover]
//   tcmu-harness --handler PATH --cfg STRING --size BYTES --bench randread|randwrite
//                [--qd N] [--seconds S] [--io-size 4096]
// Exit status 0 on success, 1 on failed checks or I/O errors, 2 on usage/setup errors.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "battery.h"
#include "harness.h"
#include "load.h"

using namespace rbdtier::harness;

int main(int argc, char** argv) {
    CLI::App app{"tcmu-harness: plays tcmu-runner 1.5.4 for one handler plugin"};
    std::string handler, cfg, conf, pool = "nvme-a", subtype, bench, extra;
    uint64_t size = 0, io_size = 4096;
    uint32_t bs = 512, max_xfer = 2048;
    unsigned qd = 1;
    double seconds = 5, warmup = 1;
    bool battery = false, caw_bug = false, implicit = false;
    app.add_option("--handler", handler, "handler .so to load")->required();
    app.add_option("--cfg", cfg, "handler part of the cfgstring (after '<subtype>/')");
    app.add_option("--size", size, "LUN size in bytes");
    app.add_option("--bs", bs, "logical block size")->capture_default_str();
    app.add_option("--max-xfer", max_xfer, "max blocks per command")->capture_default_str();
    app.add_flag("--battery", battery, "run the functional battery on a fresh image");
    app.add_option("--conf", conf, "ceph.conf (battery)")->envname("RBDTIER_CEPH_CONF");
    app.add_option("--pool", pool, "pool for the battery image")->capture_default_str();
    app.add_option("--subtype", subtype, "expected handler subtype (battery)");
    app.add_option("--extra-cfg", extra, "options appended to the battery cfgstring");
    app.add_flag("--implicit-failover", implicit,
                 "ALUA implicit failover: take the handler's lock before I/O");
    app.add_flag("--known-librbd-caw-offset-bug", caw_bug,
                 "battery: report the unaligned CAW miscompare offset check as KNOWN");
    app.add_option("--bench", bench, "randread or randwrite")
        ->check(CLI::IsMember({"randread", "randwrite"}));
    app.add_option("--qd", qd, "queue depth")->capture_default_str();
    app.add_option("--seconds", seconds, "measured duration")->capture_default_str();
    app.add_option("--warmup", warmup, "unmeasured warm-up")->capture_default_str();
    app.add_option("--io-size", io_size, "bytes per I/O")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        if (battery) {
            if (conf.empty()) {
                std::cerr << "--battery needs --conf\n";
                return 2;
            }
            BatteryConfig bc;
            bc.handler_path = handler;
            bc.ceph_conf = conf;
            bc.pool = pool;
            bc.extra_cfg = extra;
            bc.block_size = bs;
            bc.max_xfer_len = max_xfer;
            bc.librbd_caw_offset_bug_expected = caw_bug;
            bc.implicit_failover = implicit;
            if (subtype.empty()) subtype = Harness(handler).subtype();
            bc.subtype = subtype;
            return run_battery(bc, std::cout) == 0 ? 0 : 1;
        }
        if (cfg.empty() || size == 0) {
            std::cerr << "--cfg and --size are required (or --battery)\n";
            return 2;
        }
        Harness h(handler);
        DeviceConfig dc;
        dc.cfg = cfg;
        dc.size_bytes = size;
        dc.block_size = bs;
        dc.max_xfer_len = max_xfer;
        dc.implicit_failover = implicit;
        auto dev = h.open(dc);
        std::cout << "opened " << h.subtype() << "/" << cfg << ": " << dev->num_lbas()
                  << " blocks of " << dev->block_size() << " bytes\n";
        if (bench.empty()) return 0;
        const bool is_write = bench == "randwrite";
        std::vector<std::vector<uint8_t>> bufs(qd, std::vector<uint8_t>(io_size, 0x5a));
        LoadSpec spec{qd, seconds, warmup, io_size, size, 42};
        LoadStats s = run_closed_loop(spec, [&](unsigned slot, uint64_t off, OnDone done) {
            const uint64_t lba = off / bs;
            const auto blocks = static_cast<uint32_t>(io_size / bs);
            dev->submit(Request{is_write ? make_write16(lba, blocks) : make_read16(lba, blocks),
                                {{bufs[slot].data(), io_size}}},
                        [done = std::move(done)](const Result& r) { done(r.ok()); });
        });
        std::cout << bench << " qd " << qd << " io " << io_size << ": " << s.summary() << "\n";
        return s.errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "tcmu-harness: " << e.what() << "\n";
        return 2;
    }
}
