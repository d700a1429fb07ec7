// battery.h — the functional battery every handler must pass through the harness.
//
// Contract: run_battery() creates a fresh RBD image in `pool`, opens it through the handler
// at `handler_path` with cfgstring "<subtype>/<pool>/<image>;conf=<conf>[;<extra_cfg>]",
// and checks: pattern writes/reads at several LBAs and sizes (READ/WRITE 10 and 16, split
// above max_xfer_len), multi-iovec I/O, byte-exact read-back through librbd directly,
// many commands in flight, UNMAP then zeros, WRITE SAME with and without UNMAP, COMPARE
// AND WRITE match and miscompare (MISCOMPARE sense with the offset), out-of-range LBA
// sense, malformed UNMAP/CAW sense, SYNCHRONIZE CACHE 10/16. Each check is logged as
// "ok"/"FAIL" on `log`; the image is removed at the end. Returns the number of failures
// (a setup failure counts as one).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace rbdtier::harness {

struct BatteryConfig {
    std::string handler_path;
    std::string subtype;    // expected subtype of the handler ("rbd", "rbdtier")
    std::string ceph_conf;  // ceph.conf of the cluster
    std::string pool = "nvme-a";
    std::string image;      // empty: a unique name is generated
    std::string extra_cfg;  // appended to the cfgstring after ';' when not empty
    uint64_t size = 64ull << 20;
    uint32_t block_size = 512;
    uint32_t max_xfer_len = 2048;  // blocks
    unsigned queue_depth = 32;
    // librbd 16.2 returns rbd_aio_compare_and_write's mismatch offset as (object start +
    // offset in the buffer); handler_rbd passes it on, so its MISCOMPARE INFORMATION is
    // wrong when the command does not start an object. true: report that check as KNOWN
    // instead of failing (for the stock handler_rbd.so).
    bool librbd_caw_offset_bug_expected = false;
    // Open the LUN with ALUA implicit failover: the harness takes the handler's lock
    // before the first command (BUSY answers are retried) and the battery checks it.
    bool implicit_failover = false;
};

int run_battery(const BatteryConfig& cfg, std::ostream& log);

}  // namespace rbdtier::harness
