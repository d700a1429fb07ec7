// ServiceRegistration: this gateway in the cluster's service map (rados_service_register), as
// upstream handler_rbd registers its LUNs, so `ceph service dump` / `ceph -s` list it.
//
// start() returns at once; a thread of its own connects a librados client of its own (the
// monitors may be slow or away: opening LUNs must never wait for this), registers the daemon
// (service type, daemon name, static metadata) and then publishes status() every `period`
// (and on update_now()) with rados_service_update_status. A failure is handed to on_error once
// per kind (connect, register, status update) and the thread keeps trying at the next period.
// The service map itself is kept by ceph-mgr: without a manager the registration is accepted
// but shows nowhere. stop() / the destructor ends the thread and shuts the client down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ceph/cluster.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

using ServiceDict = std::map<std::string, std::string>;

struct ServiceRegistrationOptions {
    ClusterOptions cluster;
    std::string service = "tcmu-runner";  // the daemon type upstream handler_rbd uses
    std::string daemon;                   // e.g. "gw1:rbdtier"
    ServiceDict metadata;
    std::function<ServiceDict()> status;  // called on the registration's thread
    std::function<void(const Status&)> on_error;
    std::chrono::milliseconds period{5000};
};

class ServiceRegistration {
public:
    static std::unique_ptr<ServiceRegistration> start(ServiceRegistrationOptions options);
    ~ServiceRegistration();
    ServiceRegistration(const ServiceRegistration&) = delete;
    ServiceRegistration& operator=(const ServiceRegistration&) = delete;

    void stop();
    void update_now();

    bool registered() const { return registered_.load(); }
    std::uint64_t status_updates() const { return updates_.load(); }
    const std::string& service() const { return options_.service; }
    const std::string& daemon() const { return options_.daemon; }

    // The packed form librados takes for metadata and status: key\0value\0...\0
    static std::string pack(const ServiceDict& dict);

private:
    explicit ServiceRegistration(ServiceRegistrationOptions options);
    void run();
    void report(const Status& status, int kind);

    ServiceRegistrationOptions options_;
    std::atomic<bool> registered_{false};
    std::atomic<std::uint64_t> updates_{0};
    unsigned reported_ = 0;  // kinds already reported (thread only)
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool poke_ = false;
    std::thread thread_;
};

}  // namespace rbdtier::ceph
