#include "ceph/settings_watch.h"

#include <rados/librados.h>

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

// librbd's notifies on an image's header are a NotifyMessage encoded as Ceph encodes a
// versioned struct: version (u8), compat version (u8), length of what follows (u32 LE), then the
// op (u32 LE) and the op's payload. An empty payload is an old client's header update.
constexpr std::size_t kNotifyOpOffset = 6;
constexpr std::uint32_t kNotifyOpHeaderUpdate = 3;

// Whether a notify of the image's header may mean that its metadata changed: a header update,
// or a payload that is not a NotifyMessage (a change is assumed: a re-read costs little).
bool may_change_header(const void* data, std::size_t len) {
    if (len == 0) return true;
    if (data == nullptr || len < kNotifyOpOffset + sizeof(std::uint32_t)) return true;
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::uint32_t op = 0;
    for (std::size_t i = 0; i < sizeof op; ++i)
        op |= static_cast<std::uint32_t>(bytes[kNotifyOpOffset + i]) << (8 * i);
    return op == kNotifyOpHeaderUpdate;
}

std::string errno_text(int rc) {
    return std::generic_category().message(rc < 0 ? -rc : rc);
}
}  // namespace

SettingsWatch::SettingsWatch(const Cluster& cluster, const IoContext& home, Image& image,
                             std::string pool, std::string oid, std::string lun,
                             std::chrono::milliseconds backstop,
                             std::function<void(std::chrono::steady_clock::time_point)> reread,
                             std::shared_ptr<RoundDriver> hub)
    : cluster_(cluster),
      home_(home),
      image_(image),
      pool_(std::move(pool)),
      lun_(std::move(lun)),
      backstop_(backstop),
      reread_(std::move(reread)),
      next_reread_(std::chrono::steady_clock::now() + backstop),
      hub_(hub ? std::move(hub) : watch_hub()) {
    const auto now = std::chrono::steady_clock::now();
    header_.owner = this;
    header_.is_header = true;
    header_.where = home_.where() + "/rbd_header (of " + image_.spec() + ")";
    header_.backoff = kFirstBackoff;
    header_.next_watch = now;
    object_.owner = this;
    object_.oid = std::move(oid);
    object_.where = pool_ + "/" + object_.oid;
    object_.backoff = kFirstBackoff;
    object_.next_watch = now;
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
    unwatch(header_);
    unwatch(object_);
    // The callbacks in flight of both watches have returned once this has.
    (void)rados_watch_flush(cluster_.handle());
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

void SettingsWatch::on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                              std::uint64_t, void* data, std::size_t data_len) {
    auto* w = static_cast<Watched*>(arg);
    SettingsWatch* self = w->owner;
    // The notifier waits for every watcher's acknowledgement: give it at once, empty (the
    // re-read is this watch's business, not the notifier's).
    (void)rados_notify_ack(w->io->handle(), w->oid.c_str(), notify_id, handle, nullptr, 0);
    if (w->is_header && !may_change_header(data, data_len)) return;
    {
        std::lock_guard lock(self->mutex_);
        self->changed_ = true;
        if (w->is_header) {
            ++self->counters_.image_notifies;
        } else {
            ++self->counters_.object_notifies;
            self->object_changed_at_ = std::chrono::steady_clock::now();
        }
    }
    self->wake();
}

void SettingsWatch::on_error(void* arg, std::uint64_t, int err) {
    auto* w = static_cast<Watched*>(arg);
    SettingsWatch* self = w->owner;
    {
        std::lock_guard lock(self->mutex_);
        w->failed = true;
        w->error = err;
    }
    self->wake();
}

int SettingsWatch::watch(Watched& w) {
    if (!w.io) {
        auto io = w.is_header ? home_.duplicate() : IoContext::open(cluster_, pool_);
        if (!io) return io.status().code() < 0 ? io.status().code() : -EIO;
        w.io.emplace(std::move(io).value());
    }
    if (w.is_header) {
        if (w.oid.empty()) {
            auto id = image_.id();
            if (!id) return id.status().code() < 0 ? id.status().code() : -EIO;
            w.oid = "rbd_header." + *id;
        }
    } else {
        // A missing object cannot be watched: create it empty (an existing one is left as it is).
        WriteOp op(rados_create_write_op());
        if (!op) return -ENOMEM;
        rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
        if (int rc = rados_write_op_operate2(op.get(), w.io->handle(), w.oid.c_str(), nullptr, 0);
            rc < 0)
            return rc;
    }
    return rados_watch3(w.io->handle(), w.oid.c_str(), &w.cookie, &SettingsWatch::on_notify,
                        &SettingsWatch::on_error, kWatchTimeoutS, &w);
}

void SettingsWatch::unwatch(Watched& w) {
    if (!w.io || w.cookie == 0) return;
    (void)rados_unwatch2(w.io->handle(), w.cookie);
    w.cookie = 0;
}

void SettingsWatch::keep_watched(Watched& w, std::unique_lock<std::mutex>& lock) {
    using Clock = std::chrono::steady_clock;
    if (!w.failed && (w.watched || Clock::now() < w.next_watch)) return;
    const bool failed = w.failed;
    const int failure = w.error;
    w.failed = false;
    w.watched = false;
    if (w.is_header)
        counters_.image_watched = false;
    else
        counters_.object_watched = false;
    lock.unlock();
    if (failed) {
        unwatch(w);
        // Its callbacks in flight return before the watch is made again.
        (void)rados_watch_flush(cluster_.handle());
        RBDTIER_LOG_WARNING(lun_, "watch of " << w.where << " failed (" << errno_text(failure)
                                              << "); watching it again");
        w.outage_logged = true;
    }
    const int rc = watch(w);
    lock.lock();
    if (rc == 0) {
        w.watched = true;
        if (w.is_header)
            counters_.image_watched = true;
        else
            counters_.object_watched = true;
        if (failed || w.outage_logged) ++counters_.rewatches;
        if (w.outage_logged) {
            RBDTIER_LOG_INFO(lun_, "watching " << w.where << " for settings changes again");
        }
        // Whatever changed while it was not watched: one re-read now, past any cached copy of
        // the settings object after an outage (the first watches follow the LUN's own read at
        // open).
        changed_ = true;
        if (!w.is_header && (failed || w.outage_logged)) object_changed_at_ = Clock::now();
        w.outage_logged = false;
        w.backoff = kFirstBackoff;
    } else {
        w.cookie = 0;
        if (!w.outage_logged) {
            RBDTIER_LOG_WARNING(lun_, "cannot watch "
                                          << w.where << " for settings changes (" << errno_text(rc)
                                          << "); re-reading them every " << backstop_.count()
                                          << " ms until it can");
        }
        w.outage_logged = true;
        w.next_watch = Clock::now() + w.backoff;
        w.backoff = std::min(w.backoff * 2, kMaxBackoff);
    }
}

std::uint64_t SettingsWatch::step() {
    using Clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    keep_watched(header_, lock);
    keep_watched(object_, lock);
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
    if (changed_ || header_.failed || object_.failed) return 0;
    auto until = next_reread_;
    for (const Watched* w : {&header_, &object_})
        if (!w->watched) until = std::min(until, w->next_watch);
    const auto left = until - Clock::now();
    if (left <= left.zero()) return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(left).count());
}

}  // namespace rbdtier::ceph
