// Tenants: named groups of LUNs with a quota per tier, a share of migration bandwidth, a priority.
//
// TenantSpec is plain configuration. TenantTable resolves a LUN to its tenant (LUNs not listed
// belong to tenant 0, the default tenant, which always exists) and answers quota questions.
// A quota absent for a tier means "unlimited there". Immutable after construction.
// TenantRoom is what a tenant may still add on each pool of the live cluster, by pool name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io_event.h"

namespace rbdtier {

using TenantIndex = std::uint32_t;

struct TenantSpec {
    std::string name = "default";
    std::map<TierId, std::uint64_t> quota_bytes;  // per tier; absent = unlimited
    double bandwidth_weight = 1.0;                // share of the migration bandwidth
    double priority = 1.0;                        // multiplies the benefit of its migrations
};

class TenantTable {
public:
    TenantTable() : TenantTable({}, {}) {}
    TenantTable(std::vector<TenantSpec> tenants, std::unordered_map<LunId, TenantIndex> lun_tenant);

    std::size_t size() const { return tenants_.size(); }
    const TenantSpec& spec(TenantIndex t) const { return tenants_[t]; }
    TenantIndex tenant_of(LunId lun) const {
        auto it = lun_tenant_.find(lun);
        return it == lun_tenant_.end() ? 0 : it->second;
    }
    // Quota of tenant `t` in `tier` in bytes; UINT64_MAX when unlimited.
    std::uint64_t quota(TenantIndex t, TierId tier) const;
    double priority(TenantIndex t) const { return tenants_[t].priority; }
    double weight(TenantIndex t) const { return tenants_[t].bandwidth_weight; }

private:
    std::vector<TenantSpec> tenants_;
    std::unordered_map<LunId, TenantIndex> lun_tenant_;
};

// How much room a LUN's tenant has on each pool, by pool name, as the cluster says (the live
// gateway reads it: ceph/tenant_quota.h): its quota there, and what its other LUNs hold there,
// LUN by LUN (a gateway's tenant ledger, engine/tenant_ledger.h, counts its own LUNs itself).
struct TenantRoom {
    bool tenant_found = false;                   // false: unknown tenant, no quota
    std::map<std::string, std::uint64_t> quota;  // by pool; absent = unlimited
    // Bytes each of the tenant's other LUNs holds away from its home, by the LUN's name in the
    // tenant (ceph::TenantLunRef::name) and pool.
    std::map<std::string, std::map<std::string, std::uint64_t>> luns;
    double bandwidth_weight = 1.0;  // the tenant's share of a migration budget
    // Bytes the tenant's other LUNs hold in `pool`.
    std::uint64_t others(const std::string& pool) const {
        std::uint64_t bytes = 0;
        for (const auto& [lun, pools] : luns) {
            (void)lun;
            if (const auto it = pools.find(pool); it != pools.end()) bytes += it->second;
        }
        return bytes;
    }
};

}  // namespace rbdtier
