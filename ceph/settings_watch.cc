#include "ceph/settings_watch.h"

#include <rados/librados.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "ceph/placement_watch.h"
#include "ceph/rados_op.h"
#include "ceph/watch_hub.h"
#include "common/log.h"

namespace rbdtier::ceph {

namespace {
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::uint32_t kWatchTimeoutS = 30;  // the OSD drops a silent watcher after this
// A watched object's step: woken by an error or a move, else due after this anyway.
constexpr std::uint64_t kIdleStepUs = 60'000'000;

// Microseconds from now until `at` (0 when it has passed): a step's return.
std::uint64_t us_until(std::chrono::steady_clock::time_point at) {
    const auto left = at - std::chrono::steady_clock::now();
    if (left <= left.zero()) return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(left).count());
}

std::string errno_text(int rc) {
    return std::generic_category().message(rc < 0 ? -rc : rc);
}

// The version of object `oid` (its user version, which every write to it changes: omap values,
// xattrs, data), or nullopt when it cannot be asked (missing, unreachable): one stat's round
// trip, nothing read. Its own completion, so that other ops on `io` (the watch's acks, from
// librados's threads) do not mix their versions in.
std::optional<std::uint64_t> object_version(const IoContext& io, const std::string& oid) {
    rados_completion_t made = nullptr;
    if (rados_aio_create_completion2(nullptr, nullptr, &made) < 0) return std::nullopt;
    const AioCompletion done(made);
    std::uint64_t size = 0;
    time_t mtime = 0;
    if (rados_aio_stat(io.handle(), oid.c_str(), done.get(), &size, &mtime) < 0)
        return std::nullopt;
    (void)rados_aio_wait_for_complete(done.get());  // size and mtime are written until then
    if (rados_aio_get_return_value(done.get()) < 0) return std::nullopt;
    return rados_aio_get_version(done.get());
}
}  // namespace

// The watch of one settings object for every LUN of the process with the same client key, pool
// and object (SettingsObjectWatch::of): made with the client of one subscribed LUN (the holder),
// each notify fanned out to every subscriber. Its step on the hub makes it (again): at first,
// after an error, and after its holder left. A subscriber's `Changed` is called under mutex_
// (from librados's callbacks and the step): it only notes and wakes the LUN's own step.
// Lock order: watching_ before mutex_; librados's callbacks take mutex_ only, so a flush may
// wait for them while watching_ is held.
class SettingsObjectWatch {
public:
    using Clock = std::chrono::steady_clock;
    // kChanged: the backstop found the object's version moved (or could not ask it).
    enum class Event { kNotified, kRewatched, kWatched, kJoined, kChanged };
    using Changed = std::function<void(Clock::time_point changed_at, Event event)>;

    // The process's watch of `oid` in `pool` for clients of `client_key`: the one in use, or a
    // new one (watched once it has a subscriber) whose backstop is `backstop`.
    static std::shared_ptr<SettingsObjectWatch> of(const std::string& client_key,
                                                   const std::string& pool, const std::string& oid,
                                                   std::chrono::milliseconds backstop);

    SettingsObjectWatch(std::string pool, std::string oid, std::chrono::milliseconds backstop);
    ~SettingsObjectWatch();
    SettingsObjectWatch(const SettingsObjectWatch&) = delete;
    SettingsObjectWatch& operator=(const SettingsObjectWatch&) = delete;

    // `cluster` must stay connected until unsubscribe(id) has returned. When the object is
    // watched already, `changed` is called at once (kJoined) with the watch's last notify or
    // (re)watch time.
    std::uint64_t subscribe(const Cluster& cluster, std::string lun, Changed changed);
    // When it returns, `changed` is not running and is never called again, and the watch no
    // longer uses the subscriber's client.
    void unsubscribe(std::uint64_t id);
    bool watched() const;

private:
    // One watch made with one subscriber's client; the callbacks' argument. Freed only after
    // its unwatch and flush.
    struct Holder {
        SettingsObjectWatch* owner = nullptr;
        std::uint64_t subscriber = 0;
        const Cluster* cluster = nullptr;
        std::optional<IoContext> io;
        std::uint64_t cookie = 0;
    };
    struct Subscriber {
        const Cluster* cluster = nullptr;
        std::string lun;
        Changed changed;
    };

    static void on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                          std::uint64_t notifier_id, void* data, std::size_t data_len);
    static void on_error(void* arg, std::uint64_t cookie, int err);
    std::uint64_t step();
    // A watch made with `subscriber`'s client, or a negative errno.
    Result<std::unique_ptr<Holder>> watch(std::uint64_t subscriber, const Cluster& cluster);
    static void end(std::unique_ptr<Holder> holder);  // unwatched and flushed
    void fan_out(Clock::time_point at, Event event);  // under mutex_
    void wake();

    const std::string pool_;
    const std::string oid_;
    const std::string where_;  // "pool/oid", for log lines
    const std::chrono::milliseconds backstop_;
    std::shared_ptr<RoundDriver> hub_ = watch_hub();

    std::mutex watching_;  // held while a watch is made or ended: subscribers wait to leave
    mutable std::mutex mutex_;
    std::unique_ptr<Holder> holder_;  // null: not watched
    bool failed_ = false;             // holder_'s watch reported an error
    int error_ = 0;
    bool moved_ = false;            // the holder left: watch again at once
    Clock::time_point last_event_;  // last notify or watch made
    std::map<std::uint64_t, Subscriber> subscribers_;
    std::uint64_t next_id_ = 1;
    std::optional<RoundDriver::Id> step_;
    // The step only.
    std::chrono::milliseconds backoff_ = kFirstBackoff;
    Clock::time_point next_watch_;
    bool outage_logged_ = false;
    std::uint64_t last_tried_ = 0;  // the subscriber whose client was last used to watch
    Clock::time_point next_backstop_;
    std::optional<std::uint64_t> version_;  // the object's, when last watched or fanned out
};

std::shared_ptr<SettingsObjectWatch> SettingsObjectWatch::of(const std::string& client_key,
                                                             const std::string& pool,
                                                             const std::string& oid,
                                                             std::chrono::milliseconds backstop) {
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<SettingsObjectWatch>> watches;
    const std::string key = client_key + '\n' + pool + '\n' + oid;
    std::lock_guard lock(mutex);
    for (auto it = watches.begin(); it != watches.end();)
        it = it->second.expired() ? watches.erase(it) : std::next(it);
    if (auto found = watches.find(key); found != watches.end())
        if (auto watch = found->second.lock()) return watch;
    auto watch = std::make_shared<SettingsObjectWatch>(pool, oid, backstop);
    watches[key] = watch;
    return watch;
}

SettingsObjectWatch::SettingsObjectWatch(std::string pool, std::string oid,
                                         std::chrono::milliseconds backstop)
    : pool_(std::move(pool)),
      oid_(std::move(oid)),
      where_(pool_ + "/" + oid_),
      backstop_(backstop),
      next_backstop_(Clock::now() + backstop) {
    std::lock_guard lock(mutex_);
    step_ = hub_->add([this] { return step(); });
}

SettingsObjectWatch::~SettingsObjectWatch() {
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = std::exchange(step_, std::nullopt);
    }
    if (step) hub_->remove(*step);
    // Every subscriber has left, and the last one's leaving ended the watch made with its
    // client; none is made without a subscriber.
    std::unique_ptr<Holder> holder;
    {
        std::lock_guard lock(mutex_);
        holder = std::move(holder_);
    }
    if (holder) end(std::move(holder));
}

std::uint64_t SettingsObjectWatch::subscribe(const Cluster& cluster, std::string lun,
                                             Changed changed) {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        auto& s = subscribers_[id];
        s.cluster = &cluster;
        s.lun = std::move(lun);
        s.changed = std::move(changed);
        if (holder_ && !failed_) s.changed(last_event_, Event::kJoined);
    }
    wake();  // the first subscriber: watch now
    return id;
}

void SettingsObjectWatch::unsubscribe(std::uint64_t id) {
    std::unique_ptr<Holder> holder;
    bool moved = false;
    {
        std::lock_guard watching(watching_);
        {
            std::lock_guard lock(mutex_);
            subscribers_.erase(id);
            if (holder_ && holder_->subscriber == id) {
                holder = std::move(holder_);
                failed_ = false;
                moved_ = moved = !subscribers_.empty();
            }
        }
        // Ended (its callbacks in flight returned) before the subscriber's client may go.
        if (holder) end(std::move(holder));
    }
    if (moved) wake();  // made again with another subscriber's client
}

bool SettingsObjectWatch::watched() const {
    std::lock_guard lock(mutex_);
    return holder_ != nullptr && !failed_;
}

void SettingsObjectWatch::wake() {
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = step_;
    }
    if (step) hub_->wake(*step);
}

void SettingsObjectWatch::fan_out(Clock::time_point at, Event event) {
    for (auto& [id, s] : subscribers_) s.changed(at, event);
}

void SettingsObjectWatch::on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                                    std::uint64_t, void*, std::size_t) {
    auto* h = static_cast<Holder*>(arg);
    SettingsObjectWatch* self = h->owner;
    // Acknowledged at once, empty: the re-reads are each LUN's business.
    (void)rados_notify_ack(h->io->handle(), self->oid_.c_str(), notify_id, handle, nullptr, 0);
    std::lock_guard lock(self->mutex_);
    self->last_event_ = Clock::now();
    self->fan_out(self->last_event_, Event::kNotified);
}

void SettingsObjectWatch::on_error(void* arg, std::uint64_t, int err) {
    auto* h = static_cast<Holder*>(arg);
    SettingsObjectWatch* self = h->owner;
    {
        std::lock_guard lock(self->mutex_);
        if (self->holder_.get() != h) return;  // a watch already ended
        self->failed_ = true;
        self->error_ = err;
    }
    self->wake();
}

Result<std::unique_ptr<SettingsObjectWatch::Holder>> SettingsObjectWatch::watch(
    std::uint64_t subscriber, const Cluster& cluster) {
    auto io = IoContext::open(cluster, pool_);
    if (!io) return io.status();
    auto h = std::make_unique<Holder>();
    h->owner = this;
    h->subscriber = subscriber;
    h->cluster = &cluster;
    h->io.emplace(std::move(io).value());
    // A missing object cannot be watched: create it empty (an existing one is left as it is).
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, "create " + where_);
    rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    if (Status s =
            check(rados_write_op_operate2(op.get(), h->io->handle(), oid_.c_str(), nullptr, 0),
                  [&] { return "create " + where_; });
        !s)
        return s;
    if (Status s = check(
            rados_watch3(h->io->handle(), oid_.c_str(), &h->cookie, &SettingsObjectWatch::on_notify,
                         &SettingsObjectWatch::on_error, kWatchTimeoutS, h.get()),
            [&] { return "watch " + where_; });
        !s) {
        h->cookie = 0;
        return s;
    }
    return h;
}

void SettingsObjectWatch::end(std::unique_ptr<Holder> holder) {
    if (holder->cookie == 0) return;
    (void)rados_unwatch2(holder->io->handle(), holder->cookie);
    (void)rados_watch_flush(holder->cluster->handle());
}

std::uint64_t SettingsObjectWatch::step() {
    std::lock_guard watching(watching_);
    std::unique_lock lock(mutex_);
    if (subscribers_.empty()) return kIdleStepUs;
    const bool watched = holder_ && !failed_;
    if (Clock::now() >= next_backstop_) {
        // The backstop, once for every subscriber: a write that notified nobody moved the
        // object's version (asked with the holder's client; holder_ changes only under
        // watching_); without a watch, every subscriber re-reads anyway.
        std::optional<std::uint64_t> version;
        if (watched) {
            lock.unlock();
            version = object_version(*holder_->io, oid_);
            lock.lock();
        }
        if (!version || version != version_) fan_out(Clock::now(), Event::kChanged);
        version_ = version;
        next_backstop_ = Clock::now() + backstop_;
    }
    if (watched) return us_until(next_backstop_);  // else woken by an error or a move
    if (!failed_ && !moved_ && Clock::now() < next_watch_)
        return us_until(std::min(next_watch_, next_backstop_));
    const bool failed = failed_;
    const int failure = error_;
    const bool moved = std::exchange(moved_, false);
    failed_ = false;
    std::unique_ptr<Holder> old = std::move(holder_);
    // The holder: the subscriber after the one tried last, so that a client that cannot watch
    // (fenced, say) does not keep the others from it (none leaves while watching_ is held).
    auto next = subscribers_.upper_bound(last_tried_);
    if (next == subscribers_.end()) next = subscribers_.begin();
    const auto& [subscriber, s] = *next;
    const std::uint64_t id = last_tried_ = subscriber;
    const Cluster& cluster = *s.cluster;
    const std::string lun = s.lun;
    lock.unlock();
    if (old) {
        end(std::move(old));
        RBDTIER_LOG_WARNING(lun, "watch of " << where_ << " failed (" << errno_text(failure)
                                             << "); watching it again");
        outage_logged_ = true;
    }
    auto made = watch(id, cluster);
    // The version the re-reads below start from, asked before they read.
    const std::optional<std::uint64_t> version =
        made ? object_version(*(*made)->io, oid_) : std::nullopt;
    lock.lock();
    if (made) {
        holder_ = std::move(made).value();
        version_ = version;
        next_backstop_ = Clock::now() + backstop_;
        if (outage_logged_)
            RBDTIER_LOG_INFO(lun, "watching " << where_ << " for settings changes again");
        // Whatever changed while it was not watched (or since each LUN's read at open): one
        // re-read by each LUN now, past any cached copy of the object.
        last_event_ = Clock::now();
        const bool again = failed || moved || outage_logged_;
        fan_out(last_event_, again ? Event::kRewatched : Event::kWatched);
        outage_logged_ = false;
        backoff_ = kFirstBackoff;
        return us_until(next_backstop_);
    }
    if (!outage_logged_) {
        RBDTIER_LOG_WARNING(lun, "cannot watch " << where_ << " for settings changes ("
                                                 << made.status().message()
                                                 << "); re-reading them periodically until it can");
    }
    outage_logged_ = true;
    next_watch_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return us_until(std::min(next_watch_, next_backstop_));
}

SettingsWatch::SettingsWatch(const Cluster& cluster, const IoContext& home, Image& image,
                             PlacementWatch* map_watch, const std::string& client_key,
                             const std::string& pool, const std::string& oid, std::string lun,
                             std::chrono::milliseconds backstop,
                             std::function<void(std::chrono::steady_clock::time_point)> reread,
                             std::shared_ptr<RoundDriver> hub)
    : home_(home),
      image_(image),
      map_watch_(map_watch),
      backstop_(backstop),
      reread_(std::move(reread)),
      next_reread_(std::chrono::steady_clock::now() + backstop),
      hub_(hub ? std::move(hub) : watch_hub()),
      object_(SettingsObjectWatch::of(client_key, pool, oid, backstop)) {
    {
        // Under mutex_: a notification that comes meanwhile wakes the step once it is registered.
        std::lock_guard lock(mutex_);
        step_ = hub_->add([this] { return step(); });
    }
    if (map_watch_) map_watch_->set_settings_listener([this] { lun_changed(); });
    subscription_ = object_->subscribe(
        cluster, std::move(lun),
        [this](std::chrono::steady_clock::time_point at, SettingsObjectWatch::Event event) {
            {
                std::lock_guard lock(mutex_);
                changed_ = true;
                object_changed_at_ = std::max(object_changed_at_, at);
                if (event == SettingsObjectWatch::Event::kNotified) ++counters_.object_notifies;
                if (event == SettingsObjectWatch::Event::kRewatched) ++counters_.rewatches;
            }
            wake();
        });
}

SettingsWatch::~SettingsWatch() {
    if (map_watch_) map_watch_->set_settings_listener(nullptr);  // no call in progress after it
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = std::exchange(step_, std::nullopt);
    }
    if (step) hub_->remove(*step);        // waits for a step in progress; none runs afterwards
    object_->unsubscribe(subscription_);  // no callback of it runs afterwards
}

void SettingsWatch::lun_changed() {
    {
        std::lock_guard lock(mutex_);
        changed_ = true;
        ++counters_.lun_notifies;
    }
    wake();
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
    const bool object_watched = object_->watched();
    std::lock_guard lock(mutex_);
    Counters c = counters_;
    c.object_watched = object_watched;
    return c;
}

std::uint64_t SettingsWatch::step() {
    using Clock = std::chrono::steady_clock;
    std::unique_lock lock(mutex_);
    if (changed_ || Clock::now() >= next_reread_) {
        const bool notified = std::exchange(changed_, false);
        const auto changed_at = std::exchange(object_changed_at_, {});
        lock.unlock();
        if (header_.empty()) {
            if (auto id = image_.id()) header_ = "rbd_header." + *id;
        }
        // The header's version, asked before the re-read reads: a write after it moves it. The
        // backstop re-reads only when it moved since the last re-read (or cannot be asked).
        std::optional<std::uint64_t> version;
        if (!header_.empty()) version = object_version(home_, header_);
        const bool reread = notified || !version || version != header_version_;
        if (reread) reread_(changed_at);
        header_version_ = version;
        lock.lock();
        if (reread) ++counters_.rereads;
        next_reread_ = Clock::now() + backstop_;
    }
    // A notification during the re-read: due again at once.
    if (changed_) return 0;
    return us_until(next_reread_);
}

}  // namespace rbdtier::ceph
