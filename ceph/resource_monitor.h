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
// resident and virtual memory (/proc/self/statm). Read once per kGatewayReadingPeriod for every
// monitor of the process (GatewayReadings::process(), which each monitor holds): the kernel sums
// /proc/self/stat over every thread of the process, and a gateway has its LUNs' librbd threads,
// so one read per LUN's sample would cost the gateway the square of its LUN count.
// One sampler at a time per monitor (not thread-safe); the Cluster must outlive the monitor.
//
// A pool's sample costs the cluster several requests (monitor commands, and with no manager a
// `perf dump` of the OSD counters of each of the pool's OSDs, a JSON document of a few KiB), and
// is the same for every LUN of a gateway on that pool. Monitors given a PoolSampleCache share
// their pool samples: a pool sampled less than its max age ago (on the same cluster) is not
// sampled again, so a gateway's N LUNs on P pools load the cluster with P samples per max age,
// not N x P per resource interval. A sample that every pool's cached sample answers asks the
// cluster nothing and allocates only the sample it returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ceph/cluster.h"
#include "common/expiring_cache.h"
#include "engine/resource_sample.h"

namespace rbdtier::ceph {

// This process's CPU time and memory now (cpu_cores left 0).
GatewayResources gateway_resources_now();

// How often the process's own use is read for its monitors.
inline constexpr std::chrono::milliseconds kGatewayReadingPeriod{1000};

// A reading of gateway_resources_now() and when it was taken (steady clock, microseconds).
struct GatewayReading {
    GatewayResources resources;
    std::uint64_t at_us = 0;
};

// Readings of this process's use shared by the ResourceMonitors of the process: the last
// reading is handed out again while younger than the period, and the first caller past it reads
// the process anew (one reader at a time; the others wait for it and share it). Thread-safe.
class GatewayReadings {
public:
    explicit GatewayReadings(std::chrono::microseconds period = kGatewayReadingPeriod)
        : period_us_(static_cast<std::uint64_t>(period.count())) {}

    // The last reading when taken less than the period before `now` (steady clock,
    // microseconds), else gateway_resources_now() taken at `now`.
    GatewayReading read(std::uint64_t now);
    // The same at the steady clock's now.
    GatewayReading read();

    // The readings of the gateway's monitors: made on the first call, held by every monitor
    // given it and by the process until it exits.
    static std::shared_ptr<GatewayReadings> process();

private:
    const std::uint64_t period_us_;
    std::mutex mutex_;
    std::optional<GatewayReading> last_;  // guarded by mutex_
};

// Pool samples shared by the ResourceMonitors of a process, by cluster (fsid) and pool, in an
// ExpiringCache (common/expiring_cache.h): a sample younger than max_age is handed out again;
// older ones are dropped whenever a sample is stored. Thread-safe; sampling runs without the lock
// (two monitors may sample one pool at the same time).
class PoolSampleCache {
public:
    // A pool of a cluster: its fsid, and the pool's name.
    using Key = std::pair<std::string, std::string>;

    explicit PoolSampleCache(std::chrono::steady_clock::duration max_age) : samples_(max_age) {}

    // The sample of `pool` on the cluster with id `fsid` taken less than max_age before `now`.
    std::optional<PoolResources> find(const std::string& fsid, const std::string& pool,
                                      std::chrono::steady_clock::time_point now) const;
    // The same by its key (made once by a caller that asks again and again).
    std::optional<PoolResources> find(const Key& key,
                                      std::chrono::steady_clock::time_point now) const;
    void store(const std::string& fsid, PoolResources sample,
               std::chrono::steady_clock::time_point now);
    std::size_t size() const;

    // The process's cache (the gateway's LUNs): samples kept kProcessMaxAge, less than the
    // tiering's resource interval.
    static constexpr std::chrono::seconds kProcessMaxAge{4};
    static std::shared_ptr<PoolSampleCache> process();

private:
    ExpiringCache<Key, PoolResources> samples_;
};

class ResourceMonitor {
public:
    // `shared` (null: none) shares the pool samples with the process's other monitors;
    // `readings` (not null) gives the process's own use.
    ResourceMonitor(const Cluster& cluster, std::vector<std::string> pools,
                    std::shared_ptr<PoolSampleCache> shared = nullptr,
                    std::shared_ptr<GatewayReadings> readings = GatewayReadings::process());

    ResourceSample sample();
    const std::vector<std::string>& pools() const { return pools_; }

private:
    struct DfEntry {
        std::uint64_t stored = 0, objects = 0, max_avail = 0;
    };
    // A sample of pools_[index] from the cluster.
    PoolResources sample_pool(std::size_t index, const std::map<std::string, DfEntry>& df);
    // The OSDs of `pool` (found once; none while the monitors do not say).
    const std::vector<int>& osds_of(const std::string& pool);

    const Cluster& cluster_;
    std::vector<std::string> pools_;
    std::shared_ptr<PoolSampleCache> shared_;
    std::shared_ptr<GatewayReadings> readings_;
    std::string fsid_;  // the cluster's, the key of shared_ (read when shared_ is set)
    std::vector<PoolSampleCache::Key> keys_;  // per pool, its key in shared_
    // Per pool: its sample found in shared_ by the sample in progress (kept for the next one).
    std::vector<std::optional<PoolResources>> known_;
    std::vector<std::string> size_commands_;        // per pool, the command asking its size
    std::map<std::string, std::vector<int>> osds_;  // pool -> OSD ids (found once)
    double last_cpu_seconds_ = -1;                  // of the last reading this monitor got
    std::uint64_t last_sample_us_ = 0;
    double last_cpu_cores_ = 0;
};

}  // namespace rbdtier::ceph
