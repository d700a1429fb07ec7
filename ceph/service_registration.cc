#include "ceph/service_registration.h"

#include <utility>

namespace rbdtier::ceph {

std::string pack_service_dict(const ServiceDict& dict) {
    std::string out;
    for (const auto& [key, value] : dict) {
        out += key;
        out.push_back('\0');
        out += value;
        out.push_back('\0');
    }
    return out;  // c_str() adds the final NUL that ends the dict
}

Status register_service_daemon(Cluster& cluster, const std::string& service,
                               const std::string& daemon, const ServiceDict& metadata) {
    const std::string packed = pack_service_dict(metadata);
    const int rc =
        rados_service_register(cluster.handle(), service.c_str(), daemon.c_str(), packed.c_str());
    if (rc < 0) return Status::error(rc, "service map: register " + service + "." + daemon);
    return Status::ok();
}

Status update_service_status(Cluster& cluster, const std::string& packed) {
    const int rc = rados_service_update_status(cluster.handle(), packed.c_str());
    if (rc < 0) return Status::error(rc, "service map: status update");
    return Status::ok();
}

ServiceStatusPublisher::ServiceStatusPublisher(std::chrono::milliseconds period,
                                               std::function<void()> publish)
    : period_(period), publish_(std::move(publish)) {
    thread_ = std::thread([this] { run(); });
}

ServiceStatusPublisher::~ServiceStatusPublisher() {
    stop();
}

void ServiceStatusPublisher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void ServiceStatusPublisher::update_now() {
    {
        std::lock_guard lock(mutex_);
        poke_ = true;
    }
    wake_.notify_all();
}

void ServiceStatusPublisher::run() {
    for (;;) {
        publish_();
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, period_, [&] { return stopping_ || poke_; });
        if (stopping_) break;
        poke_ = false;
    }
}

}  // namespace rbdtier::ceph
