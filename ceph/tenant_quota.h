// TenantQuota: how much room a tenant has left on each tier pool, as the cluster says.
//
// A tenant's quota per pool (bytes) is in the TenantStore; what its LUNs hold there is measured
// on the cluster: every tiered LUN registers itself under its tenant (omap of the object
// `rbdtier_tenant_luns` in the tenant pool, key `<tenant>/<home pool>/<image>`, value the LUN's
// tier pools as JSON), and refresh() counts the allocated bytes of each registered LUN's tier
// image in each pool (rbd_diff_iterate2, whole objects; opened read-only, so no lock is taken).
// Only tier images count (extents away from home), as the engine counts tenant usage; the LUN
// itself (`self`) is left out, because its own placement is known exactly by its caller.
// refresh() also re-reads the tenant, so `rbdtier tenant set` takes effect at the next refresh.
// Control path only (rounds thread): it talks to the monitors and OSDs synchronously. The
// Cluster must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/status.h"
#include "ceph/tenant_registry.h"

namespace rbdtier::ceph {

struct TenantLunRef {
    std::string home_pool;
    std::string image;
    std::vector<std::string> tiers;  // every pool the LUN may use (home may be among them)
    std::string tier_image;          // its tier images' name (LunIdentity::tier_image_name)
};

struct TenantRoom {
    bool tenant_found = false;                    // false: unknown tenant, no quota
    std::map<std::string, std::uint64_t> quota;   // by pool; absent = unlimited
    std::map<std::string, std::uint64_t> others;  // bytes the tenant's other LUNs hold, by pool
    double bandwidth_weight = 1.0;                // the tenant's share of a migration budget
    // Bytes the LUN itself may still add in `pool`, given it holds `own` there; nullopt =
    // unlimited.
    std::optional<std::uint64_t> room(const std::string& pool, std::uint64_t own) const {
        const auto q = quota.find(pool);
        if (q == quota.end()) return std::nullopt;
        const auto o = others.find(pool);
        const std::uint64_t held = own + (o == others.end() ? 0 : o->second);
        return held >= q->second ? 0 : q->second - held;
    }
};

class TenantQuota {
public:
    static constexpr const char* kRegistryObject = kTenantRegistryObject;

    TenantQuota(const Cluster& cluster, std::string tenant_pool, std::string tenant,
                TenantLunRef self);

    // Records `self` under its tenant (and under no other); unregister_self() forgets it
    // (remove_lun_tiering() does, for every tenant, when the LUN is removed).
    Status register_self();
    Status unregister_self();
    // The tenant's LUNs, from the registry.
    Result<std::vector<TenantLunRef>> luns() const;
    // Re-reads the tenant and measures its other LUNs' usage.
    Result<TenantRoom> refresh() const;

    const std::string& tenant() const { return tenant_; }

private:
    const Cluster& cluster_;
    std::string tenant_pool_;
    std::string tenant_;
    TenantLunRef self_;
};

// Bytes allocated in `pool/image` (whole objects), or an error.
Result<std::uint64_t> allocated_bytes(const Cluster& cluster, const std::string& pool,
                                      const std::string& image);

}  // namespace rbdtier::ceph
