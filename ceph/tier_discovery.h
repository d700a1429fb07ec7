// describe_tier(): what a pool is, as a tier: its device class and site, found from the cluster
// (the pool's CRUSH rule takes `<bucket>~<class>`: the bucket names the site, e.g. a datacenter
// bucket, and the class the media), and its latency, measured now as the median of a few
// round trips to one of its OSDs, never below what its device class costs (nvme 0.1 ms, ssd
// 0.3 ms, hdd 5 ms). Anything the cluster does not say stays empty; an unreachable pool of
// unknown class gets no latency. Control path only (it asks the monitors and OSDs synchronously).
#pragma once

#include <string>

#include "ceph/cluster.h"
#include "engine/placement_policy.h"

namespace rbdtier::ceph {

TierSpec describe_tier(const Cluster& cluster, const std::string& pool);

// The device class the pool's CRUSH rule takes (`<bucket>~<class>`), e.g. "nvme"; "" when the
// rule names none or the monitors do not answer.
std::string pool_device_class(const Cluster& cluster, const std::string& pool);

// Whether the pool's CRUSH rule takes solid-state media only (class "ssd" or "nvme"), as
// upstream handler_rbd decides what the Block Device Characteristics VPD page reports.
bool pool_is_solid_state(const Cluster& cluster, const std::string& pool);

}  // namespace rbdtier::ceph
