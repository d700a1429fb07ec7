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

namespace rbdtier::ceph {

struct PoolResources {
    std::string pool;
    std::uint64_t stored_bytes = 0;     // data the pool holds (one replica)
    std::uint64_t objects = 0;          // 0 when the cluster does not say
    std::uint64_t max_avail_bytes = 0;  // what can still be written to it (one replica)
    std::string source;                 // "df", "osd statfs", or empty: unknown

    bool known() const { return !source.empty(); }
    std::uint64_t capacity_bytes() const { return stored_bytes + max_avail_bytes; }
    double used_ratio() const {
        const auto c = capacity_bytes();
        return c == 0 ? 0.0 : static_cast<double>(stored_bytes) / static_cast<double>(c);
    }
    // Full: at or above `full_ratio` of its capacity, or without room for `bytes` more.
    bool full(double full_ratio, std::uint64_t bytes) const {
        return known() && (used_ratio() >= full_ratio || max_avail_bytes < bytes);
    }
};

struct GatewayResources {
    double cpu_seconds = 0;  // user + system time of this process since it started
    double cpu_cores = 0;    // cores used since the previous sample (0 at the first)
    std::uint64_t rss_bytes = 0;
    std::uint64_t vm_bytes = 0;
};

struct ResourceSample {
    std::vector<PoolResources> pools;  // in the monitor's pool order
    GatewayResources gateway;
    std::uint64_t unix_ms = 0;
};

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
