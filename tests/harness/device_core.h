// device_core.h — harness-internal: the runner-side state of one LUN and of one command.
//
// Contract: struct tcmu_device is the harness's own (handlers treat it as opaque and only
// use the exported accessors); it embeds the exact tcmur_device of v1.5.4 that
// tcmu_dev_get_private() returns, because Debian's handler_rbd.so reads its fields.
// CmdCore and SubCmd are standard-layout so a tcmur_cmd*/tcmulib_cmd* handed to the
// handler converts back to its owner. Not part of the public API.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "handler/tcmu_abi.h"
#include "harness.h"

namespace rbdtier::harness::detail {
struct DeviceCore;
struct HarnessCmd;

// The handler registered by the plugin being loaded (the one global of the harness:
// tcmur_register_handler() has no context argument).
extern std::atomic<tcmur_handler*> g_registered_handler;

// tcmulib_cmd + tcmur_cmd of one top-level command, as libtcmu/tcmu-runner allocate them.
struct CmdCore {
    tcmulib_cmd lib;
    tcmur_cmd rcmd;
    HarnessCmd* owner;
};
static_assert(std::is_standard_layout_v<CmdCore>);

// A runner-internal sub-command (one UNMAP chunk), like upstream's tcmur_ucmd.
struct SubCmd {
    tcmur_cmd rcmd;
    uint64_t off;
    uint64_t len;
    HarnessCmd* owner;
};
static_assert(std::is_standard_layout_v<SubCmd>);

inline HarnessCmd* owner_of(tcmur_cmd* c) {
    return reinterpret_cast<CmdCore*>(c->lib_cmd)->owner;
}

struct HarnessCmd {
    CmdCore core{};
    Cdb cdb;
    std::vector<iovec> iov;  // lib.iovec points here; handlers may consume it
    std::string initiator;
    Completion done;
    bool admitted = false;  // passed the ALUA check: counted in DeviceCore::admitted
    std::chrono::steady_clock::time_point start;
    DeviceCore* dev = nullptr;
    // Compound-command state (emulated WRITE SAME / CAW / WRITE AND VERIFY, UNMAP fan-out).
    std::vector<uint8_t> buf;
    std::vector<iovec> written;  // WRITE AND VERIFY: the Data-Out as sent, to compare with
    iovec state_iov{};
    uint64_t cur_lba = 0;
    uint64_t lba_cnt = 0;
    std::mutex unmap_mu;
    int unmap_status = TCMU_STS_OK;
    unsigned unmap_refs = 0;
};

using WorkFn = int (*)(DeviceCore&, tcmur_cmd*);

}  // namespace rbdtier::harness::detail

// libtcmu's per-device struct, in the harness's own layout (opaque to handlers).
struct tcmu_device {
    tcmur_device rdev{};  // what tcmu_dev_get_private() returns (runner state)
    void* tcmu_private = nullptr;
    rbdtier::harness::detail::DeviceCore* core = nullptr;
    uint64_t num_lbas = 0;
    uint32_t block_size = 512;
    uint32_t max_xfer_len = 0;
    uint32_t opt_xcopy_rw_len = 0;
    uint32_t max_unmap_len = 0;
    uint32_t opt_unmap_gran = 0;
    uint32_t unmap_gran_align = 0;
    bool split_unmaps = true;
    bool write_cache_enabled = false;
    bool solid_state_media = false;
    bool unmap_enabled = false;
    std::string cfgstring;
    char uio_name[16] = "uio0";
};

namespace rbdtier::harness::detail {

struct DeviceCore {
    tcmu_device dev;
    tcmur_handler* handler = nullptr;
    std::atomic<uint64_t> in_flight{0};
    std::atomic<uint64_t> async_handled{0};  // commands the handler took asynchronously
    uint64_t admitted = 0;  // commands past the ALUA check, not finished (under idle_mu)
    std::chrono::milliseconds busy_retry{30000};
    // Implicit-failover lock acquisition (tcmur_device event work), one background thread.
    std::mutex ev_mu;
    std::condition_variable ev_cv;
    bool ev_pending = false;
    bool ev_stop = false;
    uint64_t lock_generation = 0;  // bumped after every acquisition attempt (under ev_mu)
    std::thread lock_thread;
    std::atomic<uint16_t> next_cmd_id{0};
    std::mutex idle_mu;
    std::condition_variable idle_cv;
    std::binary_semaphore caw_gate{1};  // serialises emulated COMPARE AND WRITE
    // I/O threads when the handler asks for nr_threads > 0 (tcmur_aio.c work queue).
    std::mutex wq_mu;
    std::condition_variable wq_cv;
    std::deque<std::pair<WorkFn, tcmur_cmd*>> wq;
    bool wq_stop = false;
    std::vector<std::thread> workers;

    DeviceCore();
    ~DeviceCore();
    void start_workers(int n);
    void stop_workers();
    void command_done();
    void start_lock_thread();
    void stop_lock_thread();
    void drain_admitted();  // waits until no command past the ALUA check is in the handler
    // Closes and opens the device again (tcmu_reopen_dev); false when open() fails.
    bool reopen_device();
    // tcmu_acquire_dev_lock(): (re)opens when needed, takes the handler's lock with `tag`, sets
    // the runner's lock state; returns the handler's TCMU_STS_*.
    int acquire_lock(uint16_t tag = TCMU_INVALID_LOCK_TAG);
    std::optional<DeviceConfig::AluaGroups> explicit_alua;
};

}  // namespace rbdtier::harness::detail
