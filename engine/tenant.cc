#include "engine/tenant.h"

#include <limits>
#include <stdexcept>

namespace rbdtier {

TenantTable::TenantTable(std::vector<TenantSpec> tenants,
                         std::unordered_map<LunId, TenantIndex> lun_tenant)
    : tenants_(std::move(tenants)), lun_tenant_(std::move(lun_tenant)) {
    if (tenants_.empty()) tenants_.emplace_back();
    for (auto& t : tenants_) {
        if (!(t.bandwidth_weight > 0)) t.bandwidth_weight = 1.0;
        if (!(t.priority > 0)) t.priority = 1.0;
    }
    for (const auto& [lun, t] : lun_tenant_) {
        if (t >= tenants_.size())
            throw std::invalid_argument("LUN " + std::to_string(lun) + " maps to tenant " +
                                        std::to_string(t) + ", but only " +
                                        std::to_string(tenants_.size()) + " tenants are defined");
    }
}

std::uint64_t TenantTable::quota(TenantIndex t, TierId tier) const {
    const auto& q = tenants_[t].quota_bytes;
    auto it = q.find(tier);
    return it == q.end() ? std::numeric_limits<std::uint64_t>::max() : it->second;
}

}  // namespace rbdtier
