#include "ceph/settings_watch.h"

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "ceph/rados_op.h"
#include "ceph/watch_hub.h"
#include "common/log.h"

namespace rbdtier::ceph {

namespace {
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::uint32_t kWatchTimeoutS = 30;  // the OSD drops a silent watcher after this

std::string errno_text(int rc) {
    return std::generic_category().message(rc < 0 ? -rc : rc);
}
}  // namespace

SettingsWatch::SettingsWatch(const Cluster& cluster, Image& image, std::string pool,
                             std::string oid, std::string lun, std::chrono::milliseconds backstop,
                             std::function<void(std::chrono::steady_clock::time_point)> reread,
                             std::shared_ptr<RoundDriver> hub)
    : cluster_(cluster),
      image_(image),
      pool_(std::move(pool)),
      oid_(std::move(oid)),
      lun_(std::move(lun)),
      backstop_(backstop),
      reread_(std::move(reread)),
      backoff_(kFirstBackoff),
      next_watch_(std::chrono::steady_clock::now()),
      next_reread_(std::chrono::steady_clock::now() + backstop),
      hub_(hub ? std::move(hub) : watch_hub()) {
    // Under mutex_: a callback that comes meanwhile wakes the step once it is registered.
    std::lock_guard lock(mutex_);
    step_ = hub_->add([this] { return step(); });
}

SettingsWatch::~SettingsWatch() {
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = std::exchange(step_, std::nullopt);
    }
    if (step) hub_->remove(*step);  // waits for a step in progress; none runs afterwards
    // librbd waits for a callback in flight before it returns; librados's are flushed.
    if (counters_.image_watched) (void)rbd_update_unwatch(image_.handle(), image_handle_);
    unwatch_object();
}

void SettingsWatch::wake() {
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = step_;
    }
    if (step) hub_->wake(*step);  // a step removed meanwhile: nothing happens
}

SettingsWatch::Counters SettingsWatch::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void SettingsWatch::on_image_update(void* arg) {
    auto* self = static_cast<SettingsWatch*>(arg);
    {
        std::lock_guard lock(self->mutex_);
        ++self->counters_.image_notifies;
        self->changed_ = true;
    }
    self->wake();
}

void SettingsWatch::on_object_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                                     std::uint64_t, void*, std::size_t) {
    auto* self = static_cast<SettingsWatch*>(arg);
    // The notifier waits for every watcher's acknowledgement: give it at once (the re-read is
    // this watch's business, not the notifier's).
    (void)rados_notify_ack(self->io_->handle(), self->oid_.c_str(), notify_id, handle, nullptr, 0);
    {
        std::lock_guard lock(self->mutex_);
        ++self->counters_.object_notifies;
        self->changed_ = true;
        self->object_changed_at_ = std::chrono::steady_clock::now();
    }
    self->wake();
}

void SettingsWatch::on_object_error(void* arg, std::uint64_t, int err) {
    auto* self = static_cast<SettingsWatch*>(arg);
    {
        std::lock_guard lock(self->mutex_);
        self->object_failed_ = true;
        self->object_error_ = err;
    }
    self->wake();
}

void SettingsWatch::watch_image() {
    const int rc =
        rbd_update_watch(image_.handle(), &image_handle_, &SettingsWatch::on_image_update, this);
    std::lock_guard lock(mutex_);
    counters_.image_watched = rc == 0;
    if (rc < 0) {
        RBDTIER_LOG_WARNING(lun_, "cannot watch image "
                                      << image_.spec() << " for settings changes ("
                                      << errno_text(rc) << "); re-reading them every "
                                      << backstop_.count() << " ms instead");
    }
}

int SettingsWatch::watch_object() {
    if (!io_) {
        auto io = IoContext::open(cluster_, pool_);
        if (!io) return io.status().code() < 0 ? io.status().code() : -EIO;
        io_.emplace(std::move(io).value());
    }
    // A missing object cannot be watched: create it empty (an existing one is left as it is).
    WriteOp op(rados_create_write_op());
    if (!op) return -ENOMEM;
    rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    if (int rc = rados_write_op_operate2(op.get(), io_->handle(), oid_.c_str(), nullptr, 0); rc < 0)
        return rc;
    return rados_watch3(io_->handle(), oid_.c_str(), &object_cookie_,
                        &SettingsWatch::on_object_notify, &SettingsWatch::on_object_error,
                        kWatchTimeoutS, this);
}

void SettingsWatch::unwatch_object() {
    if (!io_ || object_cookie_ == 0) return;
    (void)rados_unwatch2(io_->handle(), object_cookie_);
    (void)rados_watch_flush(cluster_.handle());
    object_cookie_ = 0;
}

std::uint64_t SettingsWatch::step() {
    using Clock = std::chrono::steady_clock;
    if (!image_watch_tried_) {
        image_watch_tried_ = true;
        watch_image();  // librbd re-establishes its own watch of the header after a failure
    }
    std::unique_lock lock(mutex_);
    const auto now = Clock::now();
    if (object_failed_ || (!counters_.object_watched && now >= next_watch_)) {
        const bool failed = object_failed_;
        const int failure = object_error_;
        object_failed_ = false;
        counters_.object_watched = false;
        lock.unlock();
        if (failed) {
            unwatch_object();
            RBDTIER_LOG_WARNING(lun_, "watch of " << pool_ << "/" << oid_ << " failed ("
                                                  << errno_text(failure) << "); watching it again");
            outage_logged_ = true;
        }
        const int rc = watch_object();
        lock.lock();
        if (rc == 0) {
            counters_.object_watched = true;
            if (failed || outage_logged_) ++counters_.rewatches;
            if (outage_logged_) {
                RBDTIER_LOG_INFO(
                    lun_, "watching " << pool_ << "/" << oid_ << " for settings changes again");
            }
            // Whatever changed while it was not watched: one re-read now, past any cached copy
            // after an outage (the first watch follows the LUN's own read at open).
            changed_ = true;
            if (failed || outage_logged_) object_changed_at_ = Clock::now();
            outage_logged_ = false;
            backoff_ = kFirstBackoff;
        } else {
            object_cookie_ = 0;
            if (!outage_logged_) {
                RBDTIER_LOG_WARNING(lun_, "cannot watch "
                                              << pool_ << "/" << oid_ << " for settings changes ("
                                              << errno_text(rc) << "); re-reading them every "
                                              << backstop_.count() << " ms until it can");
            }
            outage_logged_ = true;
            next_watch_ = Clock::now() + backoff_;
            backoff_ = std::min(backoff_ * 2, kMaxBackoff);
        }
    }
    if (changed_ || Clock::now() >= next_reread_) {
        changed_ = false;
        const auto changed_at = std::exchange(object_changed_at_, {});
        ++counters_.rereads;
        lock.unlock();
        reread_(changed_at);
        lock.lock();
        next_reread_ = Clock::now() + backstop_;
    }
    // A notification during the re-read, or a failed watch: due again at once.
    if (changed_ || object_failed_) return 0;
    auto until = next_reread_;
    if (!counters_.object_watched) until = std::min(until, next_watch_);
    const auto left = until - Clock::now();
    if (left <= left.zero()) return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(left).count());
}

}  // namespace rbdtier::ceph
