#include "handler/scrub_jobs.h"

#include <cerrno>
#include <exception>
#include <system_error>
#include <utility>
#include <vector>

#include "common/log.h"

namespace rbdtier {

const char* to_string(ScrubJobState state) {
    switch (state) {
        case ScrubJobState::kRunning:
            return "running";
        case ScrubJobState::kDone:
            return "done";
        case ScrubJobState::kFailed:
            return "failed";
        case ScrubJobState::kCancelled:
            return "cancelled";
    }
    return "unknown";
}

ScrubJobSnapshot ScrubJobs::Job::snapshot() const {
    ScrubJobSnapshot out;
    out.steps_done = control.steps_done.load();
    out.steps_total = control.steps_total.load();
    std::lock_guard lock(mutex);
    out.state = state;
    out.error = error;
    out.report = report;
    const auto until = state == ScrubJobState::kRunning ? std::chrono::steady_clock::now() : ended;
    out.elapsed_s = std::chrono::duration<double>(until - started).count();
    return out;
}

ScrubJobs::~ScrubJobs() {
    cancel_all();
}

bool ScrubJobs::start(const std::string& lun, Work work, Finished finished, std::string& error) {
    std::shared_ptr<Job> previous;
    auto job = std::make_shared<Job>();
    {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(lun);
        if (it != jobs_.end()) {
            const ScrubJobSnapshot now = it->second->snapshot();
            if (now.state == ScrubJobState::kRunning) {
                error = "a scrub of " + lun + " is already running (" +
                        std::to_string(now.steps_done) + " of " + std::to_string(now.steps_total) +
                        " steps done)";
                return false;
            }
            previous = std::move(it->second);
        }
        // The thread is a member of the job it runs: joined by whoever takes the job out.
        auto run = [job, lun, work = std::move(work), finished = std::move(finished)] {
            ceph::ScrubReport report;
            ceph::Status status = ceph::Status::ok();
            try {
                status = work(report, job->control);
            } catch (const std::exception& e) {
                status = ceph::Status::error(-EIO, std::string("internal error: ") + e.what());
            }
            const bool cancelled = !status && job->control.cancel.load();
            ScrubJobSnapshot final = job->snapshot();
            final.state = status      ? ScrubJobState::kDone
                          : cancelled ? ScrubJobState::kCancelled
                                      : ScrubJobState::kFailed;
            if (!status) final.error = status.message();
            final.report = report;
            // The outcome is acted on (health, log) before anyone polling can see it ended.
            if (cancelled) {
                RBDTIER_LOG_INFO(lun, "scrub cancelled after " << final.steps_done << " of "
                                                               << final.steps_total << " steps");
            } else if (finished) {
                finished(final);
            }
            std::lock_guard lock(job->mutex);
            job->state = final.state;
            job->error = final.error;
            job->report = std::move(report);
            job->ended = std::chrono::steady_clock::now();
        };
        try {
            job->thread = std::thread(std::move(run));
        } catch (const std::system_error& e) {
            error = std::string("cannot start a scrub thread: ") + e.what();
            if (previous) jobs_[lun] = std::move(previous);
            return false;
        }
        jobs_[lun] = job;
    }
    if (previous && previous->thread.joinable()) previous->thread.join();  // it has ended
    return true;
}

std::optional<ScrubJobSnapshot> ScrubJobs::state(const std::string& lun) const {
    std::shared_ptr<Job> job;
    {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(lun);
        if (it == jobs_.end()) return std::nullopt;
        job = it->second;
    }
    return job->snapshot();
}

void ScrubJobs::cancel(const std::string& lun) {
    std::shared_ptr<Job> job;
    {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(lun);
        if (it == jobs_.end()) return;
        job = std::move(it->second);
        jobs_.erase(it);
    }
    job->control.cancel.store(true);
    if (job->thread.joinable()) job->thread.join();
}

void ScrubJobs::cancel_all() {
    std::vector<std::shared_ptr<Job>> jobs;
    {
        std::lock_guard lock(mutex_);
        for (auto& [lun, job] : jobs_) jobs.push_back(std::move(job));
        jobs_.clear();
    }
    for (auto& job : jobs) job->control.cancel.store(true);
    for (auto& job : jobs)
        if (job->thread.joinable()) job->thread.join();
}

}  // namespace rbdtier
