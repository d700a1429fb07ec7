// The cluster's service map (kept by ceph-mgr): a daemon registered on a RADOS client, and a
// thread that publishes the status of registered daemons.
//
// register_service_daemon() registers one daemon (service type, daemon name, static metadata)
// on an existing, connected client with rados_service_register; update_service_status()
// replaces that daemon's status with rados_service_update_status. librados takes ONE
// registration per client (a second rados_service_register on a client answers EEXIST), so a
// process that shows several daemons, as upstream handler_rbd shows every image it serves,
// registers each on a client of its own; rbdtier's LUNs each have one already (handler/lun.h).
// Neither call waits for the cluster: librados hands the registration and the status to its
// manager session and sends them when it has one. Without a manager the registration is
// accepted but shows nowhere. The daemon leaves the map when its client shuts down (the client
// tells the manager it closes; a manager that misses it drops the daemon after
// mgr_service_beacon_grace).
//
// ServiceStatusPublisher: one thread that calls `publish` every `period` and on update_now(),
// for all the daemons of a process at once (not a thread per daemon). stop() / the destructor
// ends the thread; `publish` is never called after stop() returns.
#pragma once

#include <chrono>
#include <condition_variable>
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

// The service type upstream handler_rbd registers its images under.
inline constexpr const char* kTcmuRunnerService = "tcmu-runner";

// The packed form librados takes for metadata and status: key\0value\0...\0
std::string pack_service_dict(const ServiceDict& dict);

Status register_service_daemon(Cluster& cluster, const std::string& service,
                               const std::string& daemon, const ServiceDict& metadata);
// `packed`: the status in pack_service_dict's form.
Status update_service_status(Cluster& cluster, const std::string& packed);

class ServiceStatusPublisher {
public:
    ServiceStatusPublisher(std::chrono::milliseconds period, std::function<void()> publish);
    ~ServiceStatusPublisher();
    ServiceStatusPublisher(const ServiceStatusPublisher&) = delete;
    ServiceStatusPublisher& operator=(const ServiceStatusPublisher&) = delete;

    void update_now();
    void stop();

private:
    void run();

    const std::chrono::milliseconds period_;
    const std::function<void()> publish_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool poke_ = false;
    std::thread thread_;
};

}  // namespace rbdtier::ceph
