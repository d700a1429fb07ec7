#include "ceph/service_registration.h"

#include <optional>
#include <utility>

namespace rbdtier::ceph {

namespace {
enum Kind : unsigned { kConnect = 1, kRegister = 2, kUpdate = 4 };
}

std::string ServiceRegistration::pack(const ServiceDict& dict) {
    std::string out;
    for (const auto& [key, value] : dict) {
        out += key;
        out.push_back('\0');
        out += value;
        out.push_back('\0');
    }
    return out;  // c_str() adds the final NUL that ends the dict
}

std::unique_ptr<ServiceRegistration> ServiceRegistration::start(
    ServiceRegistrationOptions options) {
    std::unique_ptr<ServiceRegistration> r(new ServiceRegistration(std::move(options)));
    r->thread_ = std::thread([p = r.get()] { p->run(); });
    return r;
}

ServiceRegistration::ServiceRegistration(ServiceRegistrationOptions options)
    : options_(std::move(options)) {}

ServiceRegistration::~ServiceRegistration() {
    stop();
}

void ServiceRegistration::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void ServiceRegistration::update_now() {
    {
        std::lock_guard lock(mutex_);
        poke_ = true;
    }
    wake_.notify_all();
}

void ServiceRegistration::report(const Status& status, int kind) {
    if ((reported_ & static_cast<unsigned>(kind)) != 0) return;
    reported_ |= static_cast<unsigned>(kind);
    if (options_.on_error) options_.on_error(status);
}

void ServiceRegistration::run() {
    std::optional<Cluster> cluster;
    for (;;) {
        if (!cluster) {
            auto c = Cluster::connect(options_.cluster);
            if (c) {
                cluster.emplace(std::move(c).value());
            } else {
                report(c.status().with_context("service map: connect"), kConnect);
            }
        }
        if (cluster && !registered_.load()) {
            const std::string metadata = pack(options_.metadata);
            const int rc = rados_service_register(cluster->handle(), options_.service.c_str(),
                                                  options_.daemon.c_str(), metadata.c_str());
            if (rc == 0) {
                registered_.store(true);
            } else {
                report(Status::error(
                           rc, "service map: register " + options_.service + "." + options_.daemon),
                       kRegister);
            }
        }
        if (registered_.load() && options_.status) {
            const std::string status = pack(options_.status());
            const int rc = rados_service_update_status(cluster->handle(), status.c_str());
            if (rc == 0) {
                updates_.fetch_add(1);
            } else {
                report(Status::error(rc, "service map: status of " + options_.daemon), kUpdate);
            }
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, options_.period, [&] { return stopping_ || poke_; });
        if (stopping_) break;
        poke_ = false;
    }
    // The client (and its registration) goes away with `cluster`, on this thread.
}

}  // namespace rbdtier::ceph
