// describe_tier(): what a pool is, as a tier: its device class and site, found from the cluster
// (the pool's CRUSH rule takes `<bucket>~<class>`: the bucket names the site, e.g. a datacenter
// bucket, and the class the media), and its latency, measured as the median of a few round
// trips to one of its OSDs, never below what its device class costs (engine/device_class.h:
// nvme 0.1 ms, ssd 0.3 ms, hdd 5 ms). Round trips measured on a loaded machine can still rank two
// pools against their media; a LUN's tiers are put back in their media's order where they are
// made (engine/policy/tier_model.h). Anything the cluster does not say stays empty; an
// unreachable pool of unknown class gets no latency. Control path only (it asks the monitors and
// OSDs synchronously).
//
// What the cluster says of a pool is the same for every LUN of a gateway on it, so the answers
// are kept in a TierCatalog, by cluster (fsid) and pool id (a pool deleted and made again under
// the same name is a new pool): a gateway opening many LUNs on the same pools asks the monitors
// and probes the OSDs once per pool and max age, not once per LUN. Only answers are kept: a
// monitor that did not answer, or a probe that failed, is asked again at the next call.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "ceph/cluster.h"
#include "common/expiring_cache.h"
#include "engine/placement_policy.h"

namespace rbdtier::ceph {

// What the cluster said of one pool: the CRUSH rule's first `take` item ("<bucket>[~<class>]",
// "" when it has none) and the median round trip to one of its OSDs; each unset until answered.
struct PoolFacts {
    std::optional<std::string> take_item;
    std::optional<double> round_trip_us;
};

// Pool facts shared by the LUNs of a process, by cluster (fsid) and pool id, in an
// ExpiringCache (common/expiring_cache.h): facts younger than max_age (counted from when the
// entry was first stored) are handed out again; older ones are dropped whenever facts are
// stored. Storing merges: what an entry already holds stays, what it lacks is added.
// Thread-safe; discovery runs without the lock.
class TierCatalog {
public:
    explicit TierCatalog(std::chrono::steady_clock::duration max_age) : facts_(max_age) {}

    // The facts kept for the pool (none when absent or older than max_age).
    PoolFacts find(const std::string& fsid, std::int64_t pool_id,
                   std::chrono::steady_clock::time_point now) const;
    // Keeps what `facts` holds (unset fields are not stored).
    void store(const std::string& fsid, std::int64_t pool_id, const PoolFacts& facts,
               std::chrono::steady_clock::time_point now);
    void clear();
    std::size_t size() const;

    // The process's catalog (the gateway's LUNs and their opens).
    static constexpr std::chrono::seconds kProcessMaxAge{30};
    static std::shared_ptr<TierCatalog> process();

private:
    ExpiringCache<std::pair<std::string, std::int64_t>, PoolFacts> facts_;  // by fsid, pool id
};

// `catalog` null: TierCatalog::process().
TierSpec describe_tier(const Cluster& cluster, const std::string& pool,
                       TierCatalog* catalog = nullptr);

// The device class the pool's CRUSH rule takes (`<bucket>~<class>`), e.g. "nvme"; "" when the
// rule names none or the monitors do not answer.
std::string pool_device_class(const Cluster& cluster, const std::string& pool,
                              TierCatalog* catalog = nullptr);

// Whether the pool's CRUSH rule takes solid-state media only (class "ssd" or "nvme"), as
// upstream handler_rbd decides what the Block Device Characteristics VPD page reports.
bool pool_is_solid_state(const Cluster& cluster, const std::string& pool,
                         TierCatalog* catalog = nullptr);

}  // namespace rbdtier::ceph
