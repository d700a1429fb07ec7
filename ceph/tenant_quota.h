// TenantQuota: how much room a tenant has left on each tier pool, as the cluster says.
//
// A tenant's quota per pool (bytes) is in the TenantStore; what its LUNs hold there is measured
// on the cluster: every tiered LUN registers itself under its tenant (omap of the object
// `rbdtier_tenant_luns` in the tenant pool, key `<tenant>/<home pool>/<image>`, value the LUN's
// tier pools as JSON), and refresh() counts the allocated bytes of each registered LUN's tier
// image in each pool (rbd_diff_iterate2, whole objects; opened read-only, so no lock is taken),
// or takes a recent measurement from an AllocationCache shared with the process's other LUNs.
// Only tier images count (extents away from home), as the engine counts tenant usage; the LUN
// itself (`self`) is left out, because its own placement is known exactly by its caller. The
// room names each LUN measured (TenantRoom::luns), so that a gateway leaves out its own LUNs.
// refresh() also re-reads the tenant, so `rbdtier tenant set` takes effect at the next refresh.
// Control path only (rounds thread): it talks to the monitors and OSDs synchronously. The
// Cluster must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/status.h"
#include "ceph/tenant_registry.h"
#include "common/expiring_cache.h"
#include "engine/tenant.h"

namespace rbdtier::ceph {

struct TenantLunRef {
    std::string home_pool;
    std::string image;
    std::vector<std::string> tiers;  // every pool the LUN may use (home may be among them)
    std::string tier_image;          // its tier images' name (LunIdentity::tier_image_name)
    // Its name among the tenant's LUNs (TenantRoom::luns): "<home pool>/<image>".
    std::string name() const { return home_pool + "/" + image; }
};

// Allocations measured on the cluster (allocated_bytes), shared by the TenantQuota of every LUN
// of a process: a tier image measured less than max_age ago is not measured again, so the
// refreshes of a tenant's L LUNs within max_age measure each tier image once (L measurements),
// not L x (L - 1). Entries older than max_age are dropped whenever a measurement is stored, so
// removed images leave it (common/expiring_cache.h keeps them). Errors are not kept.
// Thread-safe; a measurement runs without the lock (two LUNs may measure one image at the same
// time).
class AllocationCache {
public:
    using Measure = std::function<Result<std::uint64_t>()>;
    explicit AllocationCache(std::chrono::steady_clock::duration max_age) : entries_(max_age) {}

    // The bytes allocated in `pool`/`image` of the cluster with id `fsid`: measure() unless a
    // measurement younger than max_age is kept.
    Result<std::uint64_t> allocated(const std::string& fsid, const std::string& pool,
                                    const std::string& image, const Measure& measure);
    std::size_t size() const;

    // The process's cache (the gateway's LUNs): measurements kept kProcessMaxAge, less than
    // the tiering's resource interval.
    static constexpr std::chrono::seconds kProcessMaxAge{4};
    static std::shared_ptr<AllocationCache> process();

private:
    // Bytes by (fsid, pool, image).
    ExpiringCache<std::tuple<std::string, std::string, std::string>, std::uint64_t> entries_;
};

class TenantQuota {
public:
    static constexpr const char* kRegistryObject = kTenantRegistryObject;

    // `allocations` (null: none) shares the measurements of the tenant's LUNs with the
    // TenantQuota of other LUNs.
    TenantQuota(const Cluster& cluster, std::string tenant_pool, std::string tenant,
                TenantLunRef self, std::shared_ptr<AllocationCache> allocations = nullptr);

    // Records `self` under its tenant (and under no other); unregister_self() forgets it
    // (remove_lun_tiering() does, for every tenant, when the LUN is removed).
    Status register_self();
    Status unregister_self();
    // The tenant's LUNs, from the registry.
    Result<std::vector<TenantLunRef>> luns() const;
    // Re-reads the tenant and measures its other LUNs' usage (or takes the allocation cache's
    // recent measurements).
    Result<TenantRoom> refresh() const;

    const std::string& tenant() const { return tenant_; }
    // Tier images this quota has measured on the cluster so far (not taken from the cache).
    std::uint64_t measurements() const { return measurements_.load(); }

private:
    const Cluster& cluster_;
    std::string tenant_pool_;
    std::string tenant_;
    TenantLunRef self_;
    std::shared_ptr<AllocationCache> allocations_;
    mutable std::atomic<std::uint64_t> measurements_{0};
};

// Bytes allocated in `pool/image` (whole objects), or an error.
Result<std::uint64_t> allocated_bytes(const Cluster& cluster, const std::string& pool,
                                      const std::string& image);

}  // namespace rbdtier::ceph
