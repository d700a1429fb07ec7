// ResourceSample: how full each tier's pool is and what the gateway process uses, at one time, as
// a resource monitor measured it (the live one reads the cluster: ceph/resource_monitor.h). The
// admission takes a pool for full from it (PoolResources::full). Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rbdtier {

struct PoolResources {
    std::string pool;
    std::uint64_t stored_bytes = 0;     // data the pool holds (one replica)
    std::uint64_t objects = 0;          // 0 when the cluster does not say
    std::uint64_t max_avail_bytes = 0;  // what can still be written to it (one replica)
    std::string source;                 // who answered ("df", "osd statfs"), or empty: unknown

    bool known() const { return !source.empty(); }
    std::uint64_t capacity_bytes() const { return stored_bytes + max_avail_bytes; }
    double used_ratio() const {
        const auto c = capacity_bytes();
        return c == 0 ? 0.0 : static_cast<double>(stored_bytes) / static_cast<double>(c);
    }
    // Full: at or above `full_ratio` of its capacity, or without room for `bytes` more. A pool
    // nobody answered for is never full.
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

}  // namespace rbdtier
