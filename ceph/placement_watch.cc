#include "ceph/placement_watch.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "ceph/settings_store.h"
#include "ceph/watch_hub.h"
#include "common/log.h"

namespace rbdtier::ceph {

namespace {
std::string errno_text(int rc) {
    return std::generic_category().message(rc < 0 ? -rc : rc);
}

constexpr std::chrono::seconds kCheckPeriod{1};  // the lease is renewed this often
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr int kNotifiesPerStep = 64;  // then the other LUNs' steps get their turn

// Microseconds from now until `at` (0 when it has passed), for the hub.
std::uint64_t micros_until(std::chrono::steady_clock::time_point at) {
    const auto left = at - std::chrono::steady_clock::now();
    if (left <= left.zero()) return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(left).count());
}
}  // namespace

Result<std::unique_ptr<PlacementWatch>> PlacementWatch::start(const Cluster& cluster, IoContext io,
                                                              PlacementMap& map, ExtentGate& gate,
                                                              TierImages& images,
                                                              std::function<Status()> resync,
                                                              std::shared_ptr<RoundDriver> hub) {
    const std::uint64_t self = rados_get_instance_id(cluster.handle());
    std::unique_ptr<PlacementWatch> watch(new PlacementWatch(std::move(io), map.object_name(), self,
                                                             map, gate, images, std::move(resync),
                                                             hub ? std::move(hub) : watch_hub()));
    if (int rc = watch->watch(); rc < 0) {
        return Status::error(rc, "watch placement map " + watch->oid_);
    }
    gate.extend_lease(std::chrono::steady_clock::now() + kLeaseTerm);
    PlacementWatch* raw = watch.get();
    // Under mutex_: a callback that queues meanwhile wakes the step once it is registered.
    std::lock_guard lock(watch->mutex_);
    watch->step_ = watch->hub_->add([raw] { return raw->step(); });
    return watch;
}

PlacementWatch::PlacementWatch(IoContext io, std::string oid, std::uint64_t self, PlacementMap& map,
                               ExtentGate& gate, TierImages& images, std::function<Status()> resync,
                               std::shared_ptr<RoundDriver> hub)
    : io_(std::move(io)),
      oid_(std::move(oid)),
      self_(self),
      map_(map),
      gate_(gate),
      images_(images),
      resync_(std::move(resync)),
      hub_(std::move(hub)),
      next_check_(Clock::now() + kCheckPeriod) {}

int PlacementWatch::watch() {
    int rc =
        rados_watch3(io_.handle(), oid_.c_str(), &cookie_, &PlacementWatch::on_notify,
                     &PlacementWatch::on_error, static_cast<std::uint32_t>(kTimeout.count()), this);
    std::lock_guard lock(mutex_);
    watching_ = rc == 0;
    return rc;
}

void PlacementWatch::begin_recovery(bool rewatch, const char* why) {
    gate_.suspend();
    const int error = last_error();
    RBDTIER_LOG_WARNING(
        images_.lun_name(), "placement map: " << why << [error](log::Emitter& line) {
            if (error != 0) line << " (" << errno_text(error) << ")";
        } << "; commands wait until it is reloaded");
    Recovery r;
    r.rewatch = rewatch;
    r.since = Clock::now();
    r.retry_at = r.since;
    recovery_ = r;
    (void)try_recovery();
}

bool PlacementWatch::try_recovery() {
    Recovery& r = *recovery_;
    const std::string& lun = images_.lun_name();
    const bool rewatched = r.rewatch;
    int rc = 0;
    if (r.rewatch) {
        bool was_watching = false;
        {
            std::lock_guard lock(mutex_);
            was_watching = watching_;
            watching_ = false;
        }
        if (was_watching) (void)rados_unwatch2(io_.handle(), cookie_);
        rc = watch();
    }
    if (rc == 0) {
        // Notifies sent while the watch was down, or whose reload failed, were missed.
        Status s = resync_ ? resync_() : map_.reload();
        if (s) {
            {
                std::lock_guard lock(mutex_);
                ++rewatches_;
                error_ = 0;
            }
            if (!renew_lease()) gate_.extend_lease(Clock::now() + kLeaseTerm);
            RBDTIER_LOG_INFO(lun, "placement map reloaded after "
                                      << std::chrono::duration_cast<std::chrono::milliseconds>(
                                             Clock::now() - r.since)
                                             .count()
                                      << " ms; commands are served again");
            recovery_.reset();
            next_check_ = Clock::now() + kCheckPeriod;
            if (rewatched)
                settings_changed(/*notify=*/false);  // its notifies may have been missed too
            return true;
        }
        rc = s.code();
    }
    bool watching = false;
    {
        std::lock_guard lock(mutex_);
        error_ = rc;
        watching = watching_;
    }
    r.rewatch = r.rewatch || !watching;
    if (rc == -ESHUTDOWN) {  // blocklisted: nothing this client sends can succeed
        gate_.fence();
        if (!r.fenced) {
            RBDTIER_LOG_WARNING(lun,
                                "placement map: this gateway's client is blocklisted; "
                                "commands fail as on a fenced client");
        }
        r.fenced = true;
    } else if (!r.refused && Clock::now() - r.since >= kRefuseAfter) {
        gate_.refuse();
        r.refused = true;
        RBDTIER_LOG_ERROR(
            lun, "placement map not reloaded for "
                     << std::chrono::duration_cast<std::chrono::seconds>(kRefuseAfter).count()
                     << " s (" << errno_text(rc) << "); commands are answered BUSY until it is");
    }
    r.retry_at = Clock::now() + r.backoff;
    r.backoff = std::min(r.backoff * 2, kMaxBackoff);
    return false;
}

bool PlacementWatch::renew_lease() {
    int age_ms = 0;
    {
        std::lock_guard lock(mutex_);
        if (!watching_) return false;
        age_ms = rados_watch_check(io_.handle(), cookie_);
    }
    if (age_ms < 0 || std::chrono::milliseconds(age_ms) >= kLeaseTerm) return false;
    gate_.extend_lease(std::chrono::steady_clock::now() - std::chrono::milliseconds(age_ms) +
                       kLeaseTerm);
    return true;
}

bool PlacementWatch::lease_held() {
    // A lease that ran out may have let a notify go unacknowledged: the routing is reloaded
    // before the lease is extended again, however fresh the watch's next confirmation is.
    if (gate_.lease(Clock::now()) != ExtentGate::Lease::kValid) return false;
    return renew_lease();
}

PlacementWatch::~PlacementWatch() {
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = std::exchange(step_, std::nullopt);
    }
    if (step) hub_->remove(*step);  // waits for a step in progress; none runs afterwards
    if (watching_) {
        (void)rados_unwatch2(io_.handle(), cookie_);
        // Waits for librados's callbacks in flight: none touches this watch afterwards.
        (void)rados_watch_flush(rados_ioctx_get_cluster(io_.handle()));
    }
}

void PlacementWatch::wake() {
    std::optional<RoundDriver::Id> step;
    {
        std::lock_guard lock(mutex_);
        step = step_;
    }
    if (step) hub_->wake(*step);  // a step removed meanwhile: nothing happens
}

void PlacementWatch::set_settings_listener(std::function<void()> listener) {
    std::lock_guard lock(mutex_);  // a call in progress holds it
    settings_listener_ = std::move(listener);
}

void PlacementWatch::settings_changed(bool notify) {
    std::lock_guard lock(mutex_);
    if (notify) ++settings_notifies_;
    if (settings_listener_) settings_listener_();
}

void PlacementWatch::acknowledge(std::uint64_t notify_id, std::uint64_t cookie) const {
    (void)rados_notify_ack(io_.handle(), oid_.c_str(), notify_id, cookie, nullptr, 0);
}

void PlacementWatch::on_notify(void* arg, std::uint64_t notify_id, std::uint64_t handle,
                               std::uint64_t notifier_id, void* data, std::size_t data_len) {
    auto* self = static_cast<PlacementWatch*>(arg);
    const std::string_view payload =
        data != nullptr ? std::string_view(static_cast<const char*>(data), data_len)
                        : std::string_view();
    if (payload == kSettingsNotifyPayload) {
        // Not the placement's business: acknowledged at once, whatever the routing is doing, and
        // handed to the settings' re-read.
        self->acknowledge(notify_id, handle);
        self->settings_changed(/*notify=*/true);
        return;
    }
    if (payload == kWatcherProbePayload) {
        // The owner asks whether this gateway hears it: it does.
        self->acknowledge(notify_id, handle);
        return;
    }
    {
        std::lock_guard lock(self->mutex_);
        self->queue_.push_back(Notify{notify_id, notifier_id, std::string(payload)});
    }
    self->wake();
}

void PlacementWatch::on_error(void* arg, std::uint64_t, int err) {
    auto* self = static_cast<PlacementWatch*>(arg);
    self->gate_.suspend();  // at once: notifies may be missed from now on
    {
        std::lock_guard lock(self->mutex_);
        self->error_ = err;
        self->queue_.push_back(Notify{0, 0, {}, true});
    }
    self->wake();
}

std::uint64_t PlacementWatch::step() {
    if (recovery_) {
        if (Clock::now() < recovery_->retry_at || !try_recovery())
            return micros_until(recovery_->retry_at);
    }
    for (int handled = 0; handled < kNotifiesPerStep && !recovery_; ++handled) {
        std::optional<Notify> n;
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty()) break;
            n = std::move(queue_.front());
            queue_.erase(queue_.begin());
        }
        if (n->rewatch) {
            begin_recovery(/*rewatch=*/true, "the watch failed");
        } else if (!apply(*n)) {
            begin_recovery(/*rewatch=*/false, "following the owner's move failed");
        }
    }
    if (!recovery_ && Clock::now() >= next_check_) {
        if (!lease_held()) begin_recovery(/*rewatch=*/true, "the watch is not confirmed in time");
        if (!recovery_) next_check_ = Clock::now() + kCheckPeriod;
    }
    if (recovery_) return micros_until(recovery_->retry_at);
    {
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) return 0;
    }
    return micros_until(next_check_);
}

bool PlacementWatch::apply(const Notify& n) {
    std::uint64_t extent = 0;
    const auto [end, ec] =
        std::from_chars(n.payload.data(), n.payload.data() + n.payload.size(), extent, 16);
    const bool valid = ec == std::errc() && end == n.payload.data() + n.payload.size();
    if (n.notifier != self_ && valid && extent < gate_.extents()) {
        if (Status s = map_.reload(); !s) {
            // No acknowledgement: the owner keeps the old copy this gateway may still read.
            std::lock_guard lock(mutex_);
            error_ = s.code();
            return false;
        }
        const auto entry = map_.find(extent);
        const auto tier = entry ? images_.index_of(entry->pool) : std::optional<std::size_t>(0);
        if (!tier) {
            std::lock_guard lock(mutex_);
            error_ = -EINVAL;  // mapped to a pool this gateway has no image of
            return false;
        }
        if (Status s = images_.ensure_open(*tier); !s) {  // opened before anything routes to it
            std::lock_guard lock(mutex_);
            error_ = s.code();
            return false;
        }
        (void)gate_.reroute(extent, static_cast<ExtentGate::TierIndex>(*tier),
                            std::chrono::steady_clock::now() + std::chrono::seconds(2));
        RBDTIER_LOG_DEBUG(images_.lun_name(), "followed the owner's move of extent "
                                                  << extent << " to " << images_.pool(*tier));
        std::lock_guard lock(mutex_);
        ++moved_;
    }
    acknowledge(n.id, cookie_);
    return true;
}

std::uint64_t PlacementWatch::extents_moved() const {
    std::lock_guard lock(mutex_);
    return moved_;
}

std::uint64_t PlacementWatch::settings_notifies() const {
    std::lock_guard lock(mutex_);
    return settings_notifies_;
}

std::uint64_t PlacementWatch::rewatches() const {
    std::lock_guard lock(mutex_);
    return rewatches_;
}

std::string PlacementWatch::routing() const {
    switch (gate_.lease(std::chrono::steady_clock::now())) {
        case ExtentGate::Lease::kValid:
            return "valid";
        case ExtentGate::Lease::kExpired:
            return "suspended";
        case ExtentGate::Lease::kRefused:
            return "refused";
        case ExtentGate::Lease::kFenced:
            return "fenced";
    }
    return "valid";
}

int PlacementWatch::last_error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

}  // namespace rbdtier::ceph
