// ScrubJobs: the scrubs a gateway runs, each on a thread of its own (never on the admin socket's
// thread, so a long scrub delays no other admin request), at most one per LUN at a time.
//
// start() runs `work` (the scrub proper: it fills the report, reports progress and stops early,
// with an error, once its control says cancelled) and, when it ends, `finished` with the job's
// final state, on the job's thread; a LUN whose scrub still runs is refused (start() returns
// false and says why). state() is a snapshot of the LUN's current or last job: running, done,
// failed (the error) or cancelled; progress in steps as the work counts them, and its report.
// cancel() asks the LUN's job to stop and waits until its thread has ended (what `work` uses
// must outlive that wait: a LUN cancels its scrub before it closes), then forgets it; a
// cancelled job's `finished` is not called; it is logged (info) with how far it got. The
// destructor cancels every job. Thread-safe; `finished` must not call back into ScrubJobs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ceph/extent_migrator.h"
#include "ceph/status.h"

namespace rbdtier {

enum class ScrubJobState { kRunning, kDone, kFailed, kCancelled };
const char* to_string(ScrubJobState state);

struct ScrubJobSnapshot {
    ScrubJobState state = ScrubJobState::kRunning;
    std::uint64_t steps_done = 0;
    std::uint64_t steps_total = 0;  // 0 until the scrub knows how much it has to do
    double elapsed_s = 0;           // since it started, until it ended
    std::string error;              // kFailed: why
    ceph::ScrubReport report;       // kDone (and what a failed one found before it failed)
};

class ScrubJobs {
public:
    using Work = std::function<ceph::Status(ceph::ScrubReport&, ceph::ScrubControl&)>;
    using Finished = std::function<void(const ScrubJobSnapshot&)>;

    ScrubJobs() = default;
    ~ScrubJobs();
    ScrubJobs(const ScrubJobs&) = delete;
    ScrubJobs& operator=(const ScrubJobs&) = delete;

    // False, with `error` set, when a scrub of `lun` runs already.
    bool start(const std::string& lun, Work work, Finished finished, std::string& error);
    std::optional<ScrubJobSnapshot> state(const std::string& lun) const;
    void cancel(const std::string& lun);
    void cancel_all();

private:
    struct Job {
        ceph::ScrubControl control;
        std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
        mutable std::mutex mutex;  // what follows
        ScrubJobState state = ScrubJobState::kRunning;
        std::chrono::steady_clock::time_point ended{};
        std::string error;
        ceph::ScrubReport report;
        std::thread thread;  // started last, joined by cancel() or the next start()

        ScrubJobSnapshot snapshot() const;
    };

    mutable std::mutex mutex_;  // jobs_
    std::map<std::string, std::shared_ptr<Job>> jobs_;
};

}  // namespace rbdtier
