#include "ceph/placement_watch.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <optional>
#include <system_error>

#include "common/log.h"

namespace rbdtier::ceph {

namespace {
std::string errno_text(int rc) {
    return std::generic_category().message(rc < 0 ? -rc : rc);
}
}  // namespace

Result<std::unique_ptr<PlacementWatch>> PlacementWatch::start(const Cluster& cluster, IoContext io,
                                                              PlacementMap& map, ExtentGate& gate,
                                                              TierImages& images,
                                                              std::function<Status()> resync) {
    const std::uint64_t self = rados_get_instance_id(cluster.handle());
    std::unique_ptr<PlacementWatch> watch(new PlacementWatch(std::move(io), map.object_name(), self,
                                                             map, gate, images, std::move(resync)));
    if (int rc = watch->watch(); rc < 0) {
        return Status::error(rc, "watch placement map " + watch->oid_);
    }
    gate.extend_lease(std::chrono::steady_clock::now() + kLeaseTerm);
    return watch;
}

PlacementWatch::PlacementWatch(IoContext io, std::string oid, std::uint64_t self, PlacementMap& map,
                               ExtentGate& gate, TierImages& images, std::function<Status()> resync)
    : io_(std::move(io)),
      oid_(std::move(oid)),
      self_(self),
      map_(map),
      gate_(gate),
      images_(images),
      resync_(std::move(resync)),
      thread_([this] { run(); }) {}

int PlacementWatch::watch() {
    int rc =
        rados_watch3(io_.handle(), oid_.c_str(), &cookie_, &PlacementWatch::on_notify,
                     &PlacementWatch::on_error, static_cast<std::uint32_t>(kTimeout.count()), this);
    std::lock_guard lock(mutex_);
    watching_ = rc == 0;
    return rc;
}

void PlacementWatch::recover(bool rewatch, const char* why) {
    gate_.suspend();
    const std::string& lun = images_.lun_name();
    const int error = last_error();
    RBDTIER_LOG_WARNING(
        lun, "placement map: " << why << [error](log::Emitter& line) {
            if (error != 0) line << " (" << errno_text(error) << ")";
        } << "; commands wait until it is reloaded");
    const auto since = std::chrono::steady_clock::now();
    auto backoff = std::chrono::milliseconds(100);
    for (bool refused = false, fenced = false;;) {
        int rc = 0;
        if (rewatch) {
            bool was_watching = false;
            {
                std::lock_guard lock(mutex_);
                if (stopping_) return;
                was_watching = watching_;
                watching_ = false;
            }
            if (was_watching) (void)rados_unwatch2(io_.handle(), cookie_);
            rc = watch();
        }
        if (rc == 0) {
            // Notifies sent while the watch was down, or whose reload failed, were missed.
            Status s = resync_ ? resync_() : map_.reload();
            if (s) break;
            rc = s.code();
        }
        std::unique_lock lock(mutex_);
        error_ = rc;
        rewatch = rewatch || !watching_;
        if (rc == -ESHUTDOWN) {  // blocklisted: nothing this client sends can succeed
            lock.unlock();
            gate_.fence();
            if (!fenced) {
                RBDTIER_LOG_WARNING(lun,
                                    "placement map: this gateway's client is blocklisted; "
                                    "commands fail as on a fenced client");
            }
            fenced = true;
            lock.lock();
        } else if (!refused && std::chrono::steady_clock::now() - since >= kRefuseAfter) {
            lock.unlock();
            gate_.refuse();
            refused = true;
            RBDTIER_LOG_ERROR(
                lun, "placement map not reloaded for "
                         << std::chrono::duration_cast<std::chrono::seconds>(kRefuseAfter).count()
                         << " s (" << errno_text(rc)
                         << "); commands are answered BUSY until it is");
            lock.lock();
        }
        wake_.wait_for(lock, backoff, [this] { return stopping_; });
        if (stopping_) return;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
    {
        std::lock_guard lock(mutex_);
        ++rewatches_;
        error_ = 0;
    }
    if (!renew_lease()) gate_.extend_lease(std::chrono::steady_clock::now() + kLeaseTerm);
    RBDTIER_LOG_INFO(lun, "placement map reloaded after "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - since)
                                     .count()
                              << " ms; commands are served again");
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

PlacementWatch::~PlacementWatch() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    if (watching_) {
        (void)rados_unwatch2(io_.handle(), cookie_);
        (void)rados_watch_flush(rados_ioctx_get_cluster(io_.handle()));
    }
}

void PlacementWatch::on_notify(void* arg, std::uint64_t notify_id, std::uint64_t,
                               std::uint64_t notifier_id, void* data, std::size_t data_len) {
    auto* self = static_cast<PlacementWatch*>(arg);
    {
        std::lock_guard lock(self->mutex_);
        self->queue_.push_back(
            Notify{notify_id, notifier_id, std::string(static_cast<char*>(data), data_len)});
    }
    self->wake_.notify_one();
}

void PlacementWatch::on_error(void* arg, std::uint64_t, int err) {
    auto* self = static_cast<PlacementWatch*>(arg);
    self->gate_.suspend();  // at once: notifies may be missed from now on
    {
        std::lock_guard lock(self->mutex_);
        self->error_ = err;
        self->queue_.push_back(Notify{0, 0, {}, true});
    }
    self->wake_.notify_one();
}

void PlacementWatch::run() {
    auto next_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_until(lock, next_check, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        std::optional<Notify> n;
        if (!queue_.empty()) {
            n = std::move(queue_.front());
            queue_.pop_front();
        }
        lock.unlock();
        if (n && n->rewatch) {
            recover(/*rewatch=*/true, "the watch failed");
        } else if (n && !apply(*n)) {
            recover(/*rewatch=*/false, "following the owner's move failed");
        }
        if (const auto now = std::chrono::steady_clock::now(); now >= next_check) {
            if (!renew_lease()) recover(/*rewatch=*/true, "the watch is not confirmed in time");
            next_check = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        }
        lock.lock();
    }
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
        (void)gate_.reroute(extent, static_cast<ExtentGate::TierIndex>(*tier),
                            std::chrono::steady_clock::now() + std::chrono::seconds(2));
        RBDTIER_LOG_DEBUG(images_.lun_name(), "followed the owner's move of extent "
                                                  << extent << " to " << images_.pool(*tier));
        std::lock_guard lock(mutex_);
        ++moved_;
    }
    (void)rados_notify_ack(io_.handle(), oid_.c_str(), n.id, cookie_, nullptr, 0);
    return true;
}

std::uint64_t PlacementWatch::extents_moved() const {
    std::lock_guard lock(mutex_);
    return moved_;
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
