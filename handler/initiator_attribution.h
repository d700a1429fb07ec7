// Per-initiator attribution of a LUN's commands under a host that does not say which initiator
// sent a command (Debian's tcmu-runner 1.5.4), from the kernel target's configfs.
//
// backstore_of_uio(): the configfs backstore directory ("core/user_N/<name>") of a TCMU device,
// from the kernel's name of its UIO device (/sys/class/uio/<uio>/name is
// "tcm-user/<N>/<name>/<cfgstring>"); an error text when it cannot be read or parsed.
//
// InitiatorAttribution, for one LUN (its backstore under a configfs root, a parameter so tests
// use a directory tree laid out like configfs):
//   sample() (the sampler thread, or a test) finds the fabric LUNs that link to the backstore
//   (<root>/<fabric>/<wwn>/tpgt_N/lun/lun_M/<symlink>), the ACLs whose mapped LUNs link to those
//   (.../tpgt_N/acls/<initiator>/lun_K/<symlink>) and reads their per-initiator counters
//   (.../acls/<initiator>/lun_K/statistics/scsi_auth_intr/{num_cmds,read_mbytes,write_mbytes}).
//   From the counters' movement since the previous sample it publishes the attribution that
//   next() gives each command until the following sample:
//     exactly one initiator's counters moved  -> exact: every command is that initiator's;
//     several moved                           -> apportioned: commands go to them in the shares
//                                                of their num_cmds deltas (a low-discrepancy
//                                                sequence, so the split follows the shares);
//     none moved                              -> the previous attribution stays (idle LUN);
//     nothing known (no backstore or ACL in configfs, a demo-mode TPG, unreadable or garbage
//     counters)                               -> shared: initiator 0.
//   The attribution follows the counters one interval late: the first commands of an initiator
//   that starts while another was active count as the other's until the next sample.
//   The topology is found again at every sample (ACLs come and go while the LUN is open); an
//   initiator seen for the first time only sets its baseline. A counter that goes backwards
//   (ACL recreated) sets a new baseline. Each distinct problem is logged once (warning) until
//   the attribution is readable again (logged, info). Names of the initiators found are noted
//   in `names` (the ACL's directory name: the initiator's IQN/WWN).
//   next() is the I/O path: lock-free (a seqlock over a fixed table), no allocation.
//   start(period) runs sample() on a thread of its own every `period` until stop() or
//   destruction; report() is for the admin thread. Thread-safe.
//
// InitiatorActivity: what each initiator did to one LUN as the handler attributed it (commands,
// bytes read and written, and the extents it touched), for `rbdtier lun show`. record() is the
// I/O path: atomics only; an initiator's counters (about 0.5 KiB) are allocated at its first
// command, once for the LUN's life, so an idle LUN holds only a table of pointers. At most
// kMaxInitiators initiators are tracked (the commands of later ones, and of one whose counters
// could not be allocated, are counted as untracked). Extents are kept at a granularity of at most
// kRegions regions per LUN (a region is one extent on LUNs of up to kRegions extents). Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "handler/initiator_names.h"

namespace rbdtier {

struct BackstoreLookup {
    std::string backstore;  // "core/user_N/<name>" relative to the configfs target root
    std::string error;      // why not, when backstore is empty
};
BackstoreLookup backstore_of_uio(const std::string& uio_class_root, const std::string& uio_name);

enum class AttributionKind { kShared, kExact, kApportioned };
const char* to_string(AttributionKind kind) noexcept;

// One initiator whose ACL maps the LUN, as last sampled.
struct InitiatorCounters {
    std::uint32_t id = 0;
    std::string name;            // the ACL's name (IQN / WWN)
    std::uint64_t num_cmds = 0;  // the kernel's totals for this initiator on this LUN
    std::uint64_t read_mib = 0;
    std::uint64_t write_mib = 0;
    std::uint64_t cmds_delta = 0;  // num_cmds moved in the last interval
    double share = 0;              // of the commands attributed now (0..1)
};

struct AttributionReport {
    AttributionKind kind = AttributionKind::kShared;
    std::string backstore;  // absolute path sampled
    std::string problem;    // why the attribution is shared now ("" when it is not, or idle)
    std::uint64_t samples = 0;
    std::vector<InitiatorCounters> initiators;
};

class InitiatorAttribution {
public:
    static constexpr std::size_t kMaxShares = 8;  // initiators a split is made among (largest)
    static constexpr std::uint32_t kShareScale = 1u << 16;

    // `configfs_root`: the target root (/sys/kernel/config/target); `backstore`: the LUN's
    // backstore relative to it; `names` (may be null) must outlive this; `log_lun` names the LUN
    // in log lines.
    InitiatorAttribution(std::string configfs_root, std::string backstore, InitiatorNames* names,
                         std::string log_lun);
    ~InitiatorAttribution();
    InitiatorAttribution(const InitiatorAttribution&) = delete;
    InitiatorAttribution& operator=(const InitiatorAttribution&) = delete;

    void sample();
    std::uint32_t next() noexcept;
    AttributionReport report() const;

    void start(std::chrono::milliseconds period);
    void stop();

private:
    struct Mapped {
        std::string counters_dir;  // .../acls/<name>/lun_K/statistics/scsi_auth_intr
        std::string name;
    };
    struct Reading {
        std::uint64_t num_cmds = 0, read_mib = 0, write_mib = 0;
    };
    // The mapped LUNs of ACLs that reach the backstore; false with `problem` when there is none.
    bool discover(std::vector<Mapped>& out, std::string& problem) const;
    // Publishes `shares` (id, cumulative weight up to kShareScale) for next().
    void publish(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& shares) noexcept;
    void note_problem(const std::string& problem);

    const std::string root_;
    const std::string backstore_;
    InitiatorNames* const names_;
    const std::string log_lun_;

    // Read by next() (seqlock: seq_ odd while published entries change).
    std::atomic<std::uint32_t> seq_{0};
    std::atomic<std::uint32_t> count_{0};
    std::array<std::atomic<std::uint32_t>, kMaxShares> ids_{};
    std::array<std::atomic<std::uint32_t>, kMaxShares> upto_{};
    std::atomic<std::uint64_t> picks_{0};

    mutable std::mutex mutex_;  // the sampler's state and the report
    std::map<std::string, Reading> baseline_;
    AttributionReport report_;
    std::string logged_problem_;

    std::mutex thread_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread sampler_;
};

class InitiatorActivity {
public:
    static constexpr std::size_t kMaxInitiators = 16;
    static constexpr std::size_t kRegions = 4096;

    InitiatorActivity(std::uint64_t lun_bytes, std::uint64_t extent_bytes);
    ~InitiatorActivity();
    InitiatorActivity(const InitiatorActivity&) = delete;
    InitiatorActivity& operator=(const InitiatorActivity&) = delete;

    // One command of `initiator` (0: shared) over [offset, offset+length) of the LUN.
    void record(std::uint32_t initiator, bool write, bool data, std::uint64_t offset,
                std::uint64_t length) noexcept;

    struct Entry {
        std::uint32_t initiator = 0;
        std::uint64_t commands = 0;
        std::uint64_t read_bytes = 0;
        std::uint64_t write_bytes = 0;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;  // [first, last] runs
    };
    std::vector<Entry> entries() const;
    std::uint64_t untracked_commands() const { return untracked_.load(std::memory_order_relaxed); }
    std::uint64_t extent_bytes() const { return extent_bytes_; }
    // How many initiators' counters are allocated.
    std::size_t tracked_initiators() const noexcept;

private:
    struct Slot {
        explicit Slot(std::uint64_t k) : key(k) {}
        const std::uint64_t key;  // initiator | 1 << 32
        std::atomic<std::uint64_t> commands{0};
        std::atomic<std::uint64_t> read_bytes{0};
        std::atomic<std::uint64_t> write_bytes{0};
        std::array<std::atomic<std::uint64_t>, kRegions / 64> regions{};
    };
    Slot* slot_of(std::uint32_t initiator) noexcept;

    std::uint64_t extent_bytes_;
    std::uint64_t extents_;
    std::uint64_t region_extents_;                            // extents per region
    std::array<std::atomic<Slot*>, kMaxInitiators> slots_{};  // claimed in order; null: free
    std::atomic<std::uint64_t> untracked_{0};
};

}  // namespace rbdtier
