// ScrubJobs: one job per LUN at a time, each on its own thread; its state while it runs and how
// it ended; cancel() stops and joins it (its work sees the cancel), and `finished` runs only for
// a job that was not cancelled. The work here is a function the test holds at a point with a
// latch (ScrubJobs runs any work; the real one is the migrator's scrub, in the integration tests).
#include "handler/scrub_jobs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/log.h"

namespace rbdtier {
namespace {

// A point the work waits at until the test opens it (or the job is cancelled).
class Gate {
public:
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }
    // Waits until opened or `control` is cancelled; true when opened.
    bool pass(ceph::ScrubControl& control) {
        std::unique_lock lock(mutex_);
        entered_ = true;
        cv_.notify_all();
        while (!open_ && !control.cancel.load())
            cv_.wait_for(lock, std::chrono::milliseconds(10));  // re-checks the cancel flag
        return open_;
    }
    bool wait_entered(std::chrono::seconds deadline) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, deadline, [&] { return entered_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
    bool entered_ = false;
};

TEST(ScrubJobs, OnePerLunReportsProgressAndEnds) {
    ScrubJobs jobs;
    Gate gate;
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<ScrubJobSnapshot> ended;
    auto work = [&](ceph::ScrubReport& report, ceph::ScrubControl& control) {
        control.steps_total = 10;
        control.steps_done = 3;
        if (!gate.pass(control)) return ceph::Status::error(-ECANCELED, "scrub");
        control.steps_done = 10;
        report.extents_checked = 5;
        report.crc_mismatch = 1;
        return ceph::Status::ok();
    };
    auto finished = [&](const ScrubJobSnapshot& s) {
        std::lock_guard lock(mutex);
        ended = s;
        cv.notify_all();
    };
    std::string error;
    EXPECT_FALSE(jobs.state("lun0").has_value()) << "no scrub yet";
    ASSERT_TRUE(jobs.start("lun0", work, finished, error)) << error;
    ASSERT_TRUE(gate.wait_entered(std::chrono::seconds(30)));
    auto running = jobs.state("lun0");
    ASSERT_TRUE(running.has_value());
    EXPECT_EQ(running->state, ScrubJobState::kRunning);
    EXPECT_EQ(running->steps_done, 3u);
    EXPECT_EQ(running->steps_total, 10u);
    EXPECT_FALSE(jobs.start("lun0", work, finished, error)) << "a second scrub of the LUN";
    EXPECT_EQ(error, "a scrub of lun0 is already running (3 of 10 steps done)");

    gate.open();
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return ended.has_value(); }));
        EXPECT_EQ(ended->state, ScrubJobState::kDone);
        EXPECT_EQ(ended->report.crc_mismatch, 1u);
    }
    std::optional<ScrubJobSnapshot> done;
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
         std::chrono::steady_clock::now() < until;) {
        done = jobs.state("lun0");
        if (done && done->state != ScrubJobState::kRunning) break;
        std::this_thread::yield();
    }
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->state, ScrubJobState::kDone);
    EXPECT_EQ(done->report.extents_checked, 5u);
    EXPECT_EQ(done->steps_done, 10u);
    // Ended: the LUN may be scrubbed again.
    Gate second;
    second.open();
    EXPECT_TRUE(jobs.start(
        "lun0",
        [&](ceph::ScrubReport&, ceph::ScrubControl& c) {
            second.pass(c);
            return ceph::Status::error(-EIO, "read extent 7");
        },
        nullptr, error))
        << error;
    jobs.cancel("lun0");
    EXPECT_FALSE(jobs.state("lun0").has_value()) << "cancel forgets the job";
}

TEST(ScrubJobs, CancelStopsAndJoinsWithoutFinishedAndIsLogged) {
    log::CaptureSink capture;
    const log::Binding binding(capture, log::Level::kInfo);
    Gate gate;
    bool finished_called = false;
    bool work_returned = false;
    {
        Gate other;  // before the jobs: the job that waits at it ends when the jobs go
        ScrubJobs jobs;
        std::string error;
        ASSERT_TRUE(jobs.start(
            "lun1",
            [&](ceph::ScrubReport&, ceph::ScrubControl& control) {
                const bool opened = gate.pass(control);
                work_returned = true;
                return opened ? ceph::Status::ok() : ceph::Status::error(-ECANCELED, "scrub");
            },
            [&](const ScrubJobSnapshot&) { finished_called = true; }, error))
            << error;
        ASSERT_TRUE(gate.wait_entered(std::chrono::seconds(30)));
        jobs.cancel("lun1");
        EXPECT_TRUE(work_returned) << "cancel() returns once the work has ended";
        EXPECT_FALSE(finished_called) << "a cancelled scrub is not acted on";
        EXPECT_EQ(capture.find(log::Level::kInfo, "lun1", "scrub cancelled").size(), 1u)
            << "a cancelled scrub says so in the log, once";
        // Another LUN's job, still running when the jobs go: the destructor cancels it.
        ASSERT_TRUE(jobs.start(
            "lun2",
            [&](ceph::ScrubReport&, ceph::ScrubControl& control) {
                return other.pass(control) ? ceph::Status::ok()
                                           : ceph::Status::error(-ECANCELED, "scrub");
            },
            [&](const ScrubJobSnapshot&) { finished_called = true; }, error));
        ASSERT_TRUE(other.wait_entered(std::chrono::seconds(30)));
    }
    EXPECT_FALSE(finished_called);
}

TEST(ScrubJobs, FailedWorkAndThrowingWorkAreFailures) {
    ScrubJobs jobs;
    std::string error;
    std::mutex mutex;
    std::condition_variable cv;
    int ended = 0;
    std::vector<ScrubJobSnapshot> seen;
    auto finished = [&](const ScrubJobSnapshot& s) {
        std::lock_guard lock(mutex);
        seen.push_back(s);
        ++ended;
        cv.notify_all();
    };
    ASSERT_TRUE(jobs.start(
        "a",
        [](ceph::ScrubReport&, ceph::ScrubControl&) {
            return ceph::Status::error(-ESTALE, "scrub: lost the LUN");
        },
        finished, error));
    ASSERT_TRUE(jobs.start(
        "b",
        [](ceph::ScrubReport&, ceph::ScrubControl&) -> ceph::Status {
            throw std::runtime_error("boom");
        },
        finished, error));
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return ended == 2; }));
    for (const ScrubJobSnapshot& s : seen) {
        EXPECT_EQ(s.state, ScrubJobState::kFailed);
        EXPECT_FALSE(s.error.empty());
    }
}

}  // namespace
}  // namespace rbdtier
