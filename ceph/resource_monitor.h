// ResourceMonitor: how full each tier's pool is and what the gateway process uses, sampled on a
// control thread (the tiering rounds), never per I/O.
//
// Per pool: bytes stored and objects from `rados_ioctx_pool_stat`, and the room left (max_avail)
// from the monitor's `df`. Both come from the manager's statistics; a cluster without a manager
// (the local test cluster) has none, and one whose manager is down has only stale ones (`mgr
// stat` tells which), and then the pool's OSDs are found from its CRUSH rule (the
// bucket its `take` step names, in the shadow tree) and their own statfs counters are read
// (`perf dump` through rados_osd_command: osd.stat_bytes, stat_bytes_used, stat_bytes_avail),
// divided by the pool's replica count. `source` says which one answered ("df", "osd statfs");
// a pool nothing answers for stays unknown, and is never taken for full.
// Per gateway process: CPU time, and cores used since the previous sample (/proc/self/stat);
// resident and virtual memory (/proc/self/statm).
// One sampler at a time (not thread-safe); the Cluster must outlive the monitor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "engine/resource_sample.h"

namespace rbdtier::ceph {

// The sample's types are the engine's (engine/resource_sample.h): the admission reads them.
using PoolResources = rbdtier::PoolResources;
using GatewayResources = rbdtier::GatewayResources;
using ResourceSample = rbdtier::ResourceSample;

// This process's CPU time and memory now (cpu_cores left 0).
GatewayResources gateway_resources_now();

class ResourceMonitor {
public:
    ResourceMonitor(const Cluster& cluster, std::vector<std::string> pools);

    ResourceSample sample();
    const std::vector<std::string>& pools() const { return pools_; }

private:
    struct DfEntry {
        std::uint64_t stored = 0, objects = 0, max_avail = 0;
    };
    PoolResources sample_pool(const std::string& pool, const std::map<std::string, DfEntry>& df);
    std::vector<int> osds_of(const std::string& pool);

    const Cluster& cluster_;
    std::vector<std::string> pools_;
    std::map<std::string, std::vector<int>> osds_;  // pool -> OSD ids (found once)
    double last_cpu_seconds_ = -1;
    std::uint64_t last_sample_us_ = 0;
};

}  // namespace rbdtier::ceph
