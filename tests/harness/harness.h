// harness.h — plays tcmu-runner 1.5.4's part for one handler plugin (.so), in-process.
//
// Contract: Harness dlopen()s a handler (RTLD_NOW|RTLD_LOCAL), calls its handler_init(),
// receives its tcmur_handler through our tcmur_register_handler(), and calls init/destroy.
// Device is one LUN: geometry set as tcmu-runner's dev_added() does, cfgstring
// "<subtype>/<cfg>", check_config → open → ... → close. Commands are SCSI CDBs + iovecs,
// dispatched to the handler's callouts as tcmur_cmd_handler.c (v1.5.4) does: range and
// length checks, UNMAP descriptor splitting, WRITE SAME / COMPARE AND WRITE through the
// handler's writesame/caw callouts or emulated with read/write, WRITE AND VERIFY (10/16) as
// a write then a read compared with the data, SYNCHRONIZE CACHE → flush.
// Completion comes from the handler's threads via tcmur_cmd_complete(); each Result holds
// the TCMU_STS_* code, the SAM status and 18 bytes of fixed-format sense built like libtcmu.
// Every command carries an initiator name, readable by the handler through
// rbdtier_harness_cmd_initiator() (see handler/tcmu_abi.h). Failover is all-active by
// default; DeviceConfig::implicit_failover emulates ALUA implicit failover (lock()), and
// DeviceConfig::explicit_alua explicit failover: REPORT / SET TARGET PORT GROUPS through the
// handler's get_lock_tag / lock / unlock (Device::report_target_port_groups and
// set_target_port_group).
// LogCapture keeps what the handler logs through the runner's log functions, for tests.
// Not emulated: SPC commands (INQUIRY, READ CAPACITY, ...: answered INVALID OPCODE),
// EXTENDED COPY, FORMAT UNIT, unit attentions, timeouts.
// The executable linking this library must export its symbols: use
// rbdtier_harness_executable() in CMake (ENABLE_EXPORTS). Devices must be destroyed before
// their Harness; completions run on handler threads, so callbacks must be thread-safe.
#pragma once

#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "handler/tcmu_abi.h"
#include "scsi.h"
#include "sense.h"

namespace rbdtier::harness {

inline constexpr std::string_view kDefaultInitiator = "iqn.2026-01.org.rbdtier:harness";

// Outcome of one SCSI command.
struct Result {
    int tcmu_status = TCMU_STS_OK;  // what the harness/handler returned
    uint8_t scsi_status = kGood;    // SAM status
    std::array<uint8_t, kFixedSenseLen> sense{};
    std::chrono::nanoseconds latency{0};  // submit → completion

    bool ok() const { return scsi_status == kGood; }
    SenseView sense_view() const { return SenseView{sense}; }
    std::string describe() const;  // e.g. "TCMU_STS_RANGE, sense key 0x5 asc/ascq 0x21/0x00"
};

// One command: CDB, data buffers (Data-Out or Data-In, owned by the caller until the
// completion ran) and the initiator that sends it.
struct Request {
    Cdb cdb;
    std::vector<iovec> iov;
    std::string initiator{kDefaultInitiator};
};

using Completion = std::function<void(const Result&)>;

// Geometry and configuration of one LUN.
struct DeviceConfig {
    std::string cfg;          // handler part of the cfgstring, e.g. "pool/image;conf=/x.conf"
    uint64_t size_bytes = 0;  // LUN size, multiple of block_size
    uint32_t block_size = 512;
    uint32_t max_xfer_len = 2048;  // blocks per command (the kernel's hw_max_sectors)
    // ALUA implicit failover (a LUN of a multi-gateway target): as tcmu-runner 1.5.4
    // alua_implicit_transition(), the first command (and every command after a lock loss)
    // answers BUSY while a background thread takes the handler's lock (reopening the
    // device first when the lock was lost). false: all-active, the lock is never taken.
    bool implicit_failover = false;
    // ALUA explicit failover (alua_access_type "Implicit and Explicit" on every group of the
    // backstore, as a multi-gateway target with explicit failover has them): the target port
    // group ids of the backstore, and the one holding this gateway's enabled port. Data
    // commands are answered FENCED (ALUA standby) unless this gateway holds the lock.
    struct AluaGroups {
        std::vector<uint16_t> ids{};
        uint16_t local = 0;
    };
    std::optional<AluaGroups> explicit_alua{};
    // How long the synchronous helpers (execute, read, write, ...) retry a BUSY answer,
    // as an initiator does. The asynchronous submit() never retries.
    std::chrono::milliseconds busy_retry{30000};
    // Whether check_config is called before the open, as when targetcli creates the backstore
    // (tcmu-runner's CheckConfig over D-Bus). false: the open alone, as tcmu-runner opens the
    // LUNs it finds at its start, and as a backstore made without targetcli (rtslib: ceph-iscsi,
    // targetcli restoreconfig) is opened.
    bool check_config = true;
};

namespace detail {
struct DeviceCore;
}

// ALUA access states (SPC-4 REPORT TARGET PORT GROUPS).
inline constexpr uint8_t kAluaActiveOptimized = 0x0;
inline constexpr uint8_t kAluaActiveNonOptimized = 0x1;
inline constexpr uint8_t kAluaStandby = 0x2;

// One target port group as REPORT TARGET PORT GROUPS describes it.
struct PortGroupState {
    uint16_t id = 0;
    uint8_t state = kAluaStandby;
    bool operator==(const PortGroupState&) const = default;
};

// One open LUN. Thread-safe: commands may be submitted from any thread.
class Device {
public:
    ~Device();  // drains in-flight commands, then calls the handler's close()
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    // Asynchronous: returns once the command is dispatched; `done` runs exactly once,
    // possibly on a handler thread, possibly before submit() returns.
    void submit(Request req, Completion done);
    // Synchronous: submit and wait for the completion; BUSY is retried (busy_retry).
    Result execute(Request req);

    // Convenience commands (synchronous). Transfers larger than max_xfer_len are split
    // into several READ/WRITE(16) commands issued concurrently; the first failure wins.
    Result read(uint64_t lba, void* buf, size_t len,
                std::string_view initiator = kDefaultInitiator);
    Result readv(uint64_t lba, std::vector<iovec> iov,
                 std::string_view initiator = kDefaultInitiator);
    Result write(uint64_t lba, const void* buf, size_t len,
                 std::string_view initiator = kDefaultInitiator);
    Result writev(uint64_t lba, std::vector<iovec> iov,
                  std::string_view initiator = kDefaultInitiator);
    Result read10(uint32_t lba, void* buf, size_t len,
                  std::string_view initiator = kDefaultInitiator);
    Result write10(uint32_t lba, const void* buf, size_t len,
                   std::string_view initiator = kDefaultInitiator);
    Result unmap(std::span<const LbaRange> ranges, std::string_view initiator = kDefaultInitiator);
    // WRITE SAME(16): `block` is one logical block repeated over `blocks` blocks.
    Result write_same(uint64_t lba, uint32_t blocks, const void* block, bool unmap_bit,
                      std::string_view initiator = kDefaultInitiator);
    // COMPARE AND WRITE: `compare` and `write` are `blocks` blocks each.
    Result compare_and_write(uint64_t lba, const void* compare, const void* write, uint8_t blocks,
                             std::string_view initiator = kDefaultInitiator);
    Result sync(bool sixteen = false, std::string_view initiator = kDefaultInitiator);

    // With DeviceConfig::explicit_alua, as tcmu-runner 1.5.4 answers them (alua.c). REPORT
    // TARGET PORT GROUPS: the group whose id is the handler's lock tag (get_lock_tag) is
    // active/optimized, every other standby; `groups` gets them in the order configured.
    // SET TARGET PORT GROUPS for one group: only the local group may change; active/optimized
    // takes the handler's lock with the group id as tag (reopening the device first after a
    // lock loss, as tcmu_acquire_dev_lock), standby releases it. Both return TCMU_STS_*.
    int report_target_port_groups(std::vector<PortGroupState>* groups);
    int set_target_port_group(uint16_t id, uint8_t state);

    void drain();                // waits until no command is in flight
    uint64_t in_flight() const;  // commands submitted and not yet completed
    // Commands whose dispatch returned TCMU_STS_ASYNC_HANDLED: the handler (or the runner's
    // I/O thread) completes them later instead of inline.
    uint64_t async_handled() const;
    uint32_t block_size() const;
    uint64_t num_lbas() const;
    uint32_t max_xfer_len() const;
    tcmu_device* raw() const;  // the tcmu_device the handler sees
    // The runner's per-device state (lock_state, event counters) as the handler sees it.
    const tcmur_device& runner_state() const;

private:
    friend class Harness;
    explicit Device(std::unique_ptr<detail::DeviceCore> core);
    Result rw_split(bool is_write, uint64_t lba, std::vector<iovec> iov,
                    std::string_view initiator);
    Result execute_once(const Request& req);
    // Waits (bounded) for a change of the lock state before a BUSY command is retried.
    void wait_before_retry(uint64_t lock_generation_seen);
    std::unique_ptr<detail::DeviceCore> core_;
};

// A loaded handler plugin.
class Harness {
public:
    // Loads the plugin; throws std::runtime_error with the reason on failure.
    explicit Harness(const std::string& so_path);
    ~Harness();  // handler's destroy(); the .so stays loaded, as in tcmu-runner
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    const tcmur_handler& handler() const { return *handler_; }
    std::string subtype() const { return handler_->subtype ? handler_->subtype : ""; }
    // The handler's check_config on "<subtype>/<cfg>": nullopt if valid (or no
    // check_config), else the reason it gave.
    std::optional<std::string> check_config(const std::string& cfg) const;
    // Opens a LUN (check_config first unless cfg.check_config is false); throws
    // std::runtime_error (with check_config's reason or open's errno).
    std::unique_ptr<Device> open(const DeviceConfig& cfg);

private:
    void* dl_ = nullptr;
    tcmur_handler* handler_ = nullptr;
    std::string path_;
};

// While one exists, every line a handler writes to the runner's log (tcmu_*_message) is also
// kept, whatever RBDTIER_HARNESS_LOG lets through to stderr, as "<level> <function>: <text>"
// (level: crit, err, warn, info, dbg; no trailing newline). One at a time; thread-safe.
class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    std::vector<std::string> lines() const;
};

}  // namespace rbdtier::harness
