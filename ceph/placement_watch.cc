#include "ceph/placement_watch.h"

#include <charconv>
#include <chrono>

namespace rbdtier::ceph {

Result<std::unique_ptr<PlacementWatch>> PlacementWatch::start(const Cluster& cluster, IoContext io,
                                                              const std::string& image,
                                                              PlacementMap& map, ExtentGate& gate,
                                                              TierImages& images) {
    const std::uint64_t self = rados_get_instance_id(cluster.handle());
    std::unique_ptr<PlacementWatch> watch(new PlacementWatch(
        std::move(io), PlacementMap::object_name(image), self, map, gate, images));
    int rc = rados_watch3(watch->io_.handle(), watch->oid_.c_str(), &watch->cookie_,
                          &PlacementWatch::on_notify, &PlacementWatch::on_error, 30, watch.get());
    if (rc < 0) return Status::error(rc, "watch placement map " + watch->oid_);
    watch->watching_ = true;
    return watch;
}

PlacementWatch::PlacementWatch(IoContext io, std::string oid, std::uint64_t self, PlacementMap& map,
                               ExtentGate& gate, TierImages& images)
    : io_(std::move(io)),
      oid_(std::move(oid)),
      self_(self),
      map_(map),
      gate_(gate),
      images_(images),
      thread_([this] { run(); }) {}

PlacementWatch::~PlacementWatch() {
    if (watching_) {
        (void)rados_unwatch2(io_.handle(), cookie_);
        (void)rados_watch_flush(rados_ioctx_get_cluster(io_.handle()));
    }
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
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
    std::lock_guard lock(self->mutex_);
    self->error_ = err;  // the gateway reloads the whole map when it takes the lock over
}

void PlacementWatch::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        Notify n = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        apply(n);
        lock.lock();
    }
}

void PlacementWatch::apply(const Notify& n) {
    std::uint64_t extent = 0;
    const auto [end, ec] =
        std::from_chars(n.payload.data(), n.payload.data() + n.payload.size(), extent, 16);
    const bool valid = ec == std::errc() && end == n.payload.data() + n.payload.size();
    if (n.notifier != self_ && valid && extent < gate_.extents() && map_.reload()) {
        const auto entry = map_.find(extent);
        const std::size_t tier = entry ? images_.index_of(entry->pool).value_or(0) : 0;
        gate_.hold(extent);
        (void)gate_.wait_drained(extent,
                                 std::chrono::steady_clock::now() + std::chrono::seconds(2));
        gate_.release(extent, static_cast<ExtentGate::TierIndex>(tier));
        std::lock_guard lock(mutex_);
        ++moved_;
    }
    (void)rados_notify_ack(io_.handle(), oid_.c_str(), n.id, cookie_, nullptr, 0);
}

std::uint64_t PlacementWatch::extents_moved() const {
    std::lock_guard lock(mutex_);
    return moved_;
}

int PlacementWatch::last_error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

}  // namespace rbdtier::ceph
