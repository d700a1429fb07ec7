// LunCommands: the commands of one LUN from the callout that takes them to their answer.
//
// acquire() takes an IoCommand for a callout (from a FreeList of kMaxQueued: no allocation of
// ours per command while fewer are in flight; past that, from the heap) and counts it in flight;
// discard() gives back one that was not queued (the callout answers it by its return value).
// A queued command is answered exactly once, through host.complete, by answer() (its operation
// completed: a plain LUN's from librbd's completion, a tiered LUN's from the ExtentRouter once
// its last part did) or complete_now(); it is then given back and no longer in flight. answer()
// scatters a read made through the bounce buffer, sets a miscompare's sense INFORMATION, tells
// the host of a timed-out command or a lost lock, notes on the LunLock that a command that writes
// completed (librbd held the lock for it: note_may_take), and counts the command in the
// LunIoMetrics, if set (timed start_us..end_us, per tier image: the tier of its first extent).
// Every answer but GOOD is logged (log_scsi_answer, rate-limited), and so are the callouts' own
// refusals (answered()). Nothing here calls the LUN or its router back.
//
// Thread-safety: acquire/discard from the callouts, answer/complete_now/fenced from librbd's
// completion threads or the thread that resumes a parked command; no lock is taken. A command
// costs two atomic additions to counters of its own side (taken by the callouts, given back by
// the completions: each on a cache line of its own, so neither side waits for the other's line)
// and the free list's acquire and release. What the caller owes: the LunLock outlives this, and
// no command is in flight when it goes (wait_idle).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "handler/free_list.h"
#include "handler/io_command.h"
#include "handler/lun_io_metrics.h"
#include "handler/tcmu_abi.h"

namespace rbdtier {

class LunLock;

// Functions of the host process (tcmu-runner or a test) used by the I/O path.
struct TcmuHost {
    void (*complete)(tcmu_device* dev, void* cmd, int status) = nullptr;
    void (*set_sense_info)(std::uint8_t* sense_buf, std::uint32_t info) = nullptr;
    void (*notify_cmd_timed_out)(tcmu_device* dev) = nullptr;  // optional
    void (*notify_lock_lost)(tcmu_device* dev) = nullptr;      // optional
    rbdtier_harness_cmd_initiator_fn initiator = nullptr;      // optional (harness only)
};

class LunCommands final : public CommandAnswers {
public:
    static constexpr std::uint32_t kMaxQueued = 512;

    // `spec` names the LUN in logs; `object_size` is the home image's (where librbd may place a
    // miscompare, see miscompare_index); `lock` notes a lost lock and a completed write.
    LunCommands(const TcmuHost& host, std::string spec, std::uint64_t object_size, LunLock& lock)
        : host_(host), spec_(std::move(spec)), object_size_(object_size), lock_(lock) {}
    LunCommands(const LunCommands&) = delete;
    LunCommands& operator=(const LunCommands&) = delete;

    // A command of `kind` over [off, off+len) for the callout (dev, cmd), reset and counted in
    // flight (its initiator 0); null when no memory is left for it.
    IoCommand* acquire(tcmu_device* dev, tcmur_cmd* cmd, IoKind kind, std::uint64_t off,
                       std::uint64_t len);
    // c was not queued (the callout answers it): given back, no longer in flight.
    void discard(IoCommand* c);

    // CommandAnswers (handler/io_command.h).
    void answer(IoCommand* c, long rc, std::uint64_t end_us) override;
    void complete_now(IoCommand* c, int status) override;
    void fenced(IoCommand* c) override;

    // What a callout returns for `cmd`: `status`, logged when it is not GOOD.
    int answered(const tcmur_cmd* cmd, int status) const;

    // Counts every answered data command from now on; `metrics` must outlive this.
    void set_io_metrics(LunIoMetrics* metrics) {
        io_metrics_.store(metrics, std::memory_order_release);
    }
    std::uint32_t in_flight() const {
        // Given back first: a command counted there was counted as taken before.
        const std::uint64_t given_back = given_back_.load(std::memory_order_acquire);
        return static_cast<std::uint32_t>(taken_.load(std::memory_order_relaxed) - given_back);
    }
    // Returns once no command is in flight (the runner drains before close; this guards against
    // a broken host).
    void wait_idle() const;

private:
    void recycle(IoCommand* c);
    // Logs what the initiator gets for `cmd` answered with `status` (TCMU_STS_*; nothing for
    // OK): log_scsi_answer, with librbd's error when `rc` < 0.
    void log_answer(const tcmur_cmd* cmd, int status, long rc = 0) const;
    // Gives c back and answers its callout with `status`: the last touch of the command.
    void complete(IoCommand* c, int status, long rc);

    const TcmuHost host_;
    const std::string spec_;
    const std::uint64_t object_size_;
    LunLock& lock_;
    std::atomic<LunIoMetrics*> io_metrics_{nullptr};
    // Commands taken (acquire) and given back (discard, complete) since the LUN opened; in
    // flight: the difference. Each is written by one side only, on a line of its own.
    alignas(64) std::atomic<std::uint64_t> taken_{0};
    alignas(64) std::atomic<std::uint64_t> given_back_{0};
    FreeList<IoCommand> free_{kMaxQueued};
};

}  // namespace rbdtier
