#include "engine/tenant_ledger.h"

#include <algorithm>
#include <utility>

namespace rbdtier {

namespace {
std::uint64_t bytes_in(const TenantLedger::Holdings& holdings, const std::string& pool) {
    const auto it = holdings.find(pool);
    return it == holdings.end() ? 0 : it->second;
}
// Takes `what` off `from`, pool by pool, never below zero.
void take(TenantLedger::Holdings& from, const TenantLedger::Holdings& what) {
    for (const auto& [pool, bytes] : what) {
        std::uint64_t& held = from[pool];
        held -= std::min(held, bytes);
    }
}
}  // namespace

std::shared_ptr<TenantLedger> TenantLedger::process() {
    static const auto ledger = std::make_shared<TenantLedger>();
    return ledger;
}

TenantLedger::Member TenantLedger::join(const std::string& tenant, const std::string& name) {
    std::lock_guard lock(mutex_);
    const Member member = next_member_++;
    luns_.emplace(member, LunEntry{tenant, name, {}});
    TenantEntry& entry = tenants_[tenant];
    ++entry.members;
    if (!name.empty() && entry.member_names[name]++ == 0) recount_outside(entry);
    return member;
}

void TenantLedger::leave(Member member) {
    std::lock_guard lock(mutex_);
    auto [lun, tenant] = find_locked(member);
    if (lun == nullptr) return;
    take(tenant->held, lun->holdings);
    if (--tenant->members == 0) {
        tenants_.erase(lun->tenant);
    } else if (!lun->name.empty()) {
        const auto name = tenant->member_names.find(lun->name);
        if (--name->second == 0) {
            tenant->member_names.erase(name);
            recount_outside(*tenant);
        }
    }
    luns_.erase(member);
}

std::pair<TenantLedger::LunEntry*, TenantLedger::TenantEntry*> TenantLedger::find_locked(
    Member member) {
    const auto lun = luns_.find(member);
    if (lun == luns_.end()) return {nullptr, nullptr};
    return {&lun->second, &tenants_[lun->second.tenant]};
}

void TenantLedger::recount_outside(TenantEntry& tenant) {
    tenant.outside.clear();
    for (const auto& [name, holdings] : tenant.measured) {
        if (tenant.member_names.count(name) != 0) continue;
        for (const auto& [pool, bytes] : holdings) tenant.outside[pool] += bytes;
    }
}

std::uint64_t TenantLedger::outside_locked(const std::string& tenant,
                                           const std::string& pool) const {
    const auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : bytes_in(it->second.outside, pool);
}

std::optional<std::uint64_t> TenantLedger::room_locked(const std::string& tenant,
                                                       const std::string& pool) const {
    const auto it = tenants_.find(tenant);
    if (it == tenants_.end()) return std::nullopt;
    const TenantEntry& t = it->second;
    const auto quota = t.quota.find(pool);
    if (quota == t.quota.end()) return std::nullopt;
    const std::uint64_t held = bytes_in(t.held, pool) + outside_locked(tenant, pool);
    return held >= quota->second ? 0 : quota->second - held;
}

bool TenantLedger::fits(Member member, const std::string& pool, std::uint64_t bytes) const {
    std::lock_guard lock(mutex_);
    const auto lun = luns_.find(member);
    if (lun == luns_.end()) return true;
    const auto room = room_locked(lun->second.tenant, pool);
    return !room || bytes <= *room;
}

bool TenantLedger::reserve(Member member, const std::string& pool, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    auto [lun, tenant] = find_locked(member);
    if (lun == nullptr) return true;
    if (const auto room = room_locked(lun->tenant, pool); room && bytes > *room) return false;
    lun->holdings[pool] += bytes;
    tenant->held[pool] += bytes;
    return true;
}

void TenantLedger::add(Member member, const std::string& pool, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    auto [lun, tenant] = find_locked(member);
    if (lun == nullptr) return;
    lun->holdings[pool] += bytes;
    tenant->held[pool] += bytes;
}

bool TenantLedger::release(Member member, const std::string& pool, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    auto [lun, tenant] = find_locked(member);
    if (lun == nullptr) return true;
    std::uint64_t& own = lun->holdings[pool];
    if (own < bytes) return false;
    own -= bytes;
    std::uint64_t& held = tenant->held[pool];
    held -= std::min(held, bytes);
    return true;
}

void TenantLedger::set_holdings(Member member, Holdings holdings) {
    std::lock_guard lock(mutex_);
    auto [lun, tenant] = find_locked(member);
    if (lun == nullptr) return;
    take(tenant->held, lun->holdings);
    for (const auto& [pool, bytes] : holdings) tenant->held[pool] += bytes;
    lun->holdings = std::move(holdings);
}

void TenantLedger::set_quotas(const std::string& tenant, Holdings quotas) {
    std::lock_guard lock(mutex_);
    tenants_[tenant].quota = std::move(quotas);
}

void TenantLedger::set_quota(const std::string& tenant, const std::string& pool,
                             std::optional<std::uint64_t> quota) {
    std::lock_guard lock(mutex_);
    Holdings& quotas = tenants_[tenant].quota;
    if (quota)
        quotas[pool] = *quota;
    else
        quotas.erase(pool);
}

void TenantLedger::set_measured(const std::string& tenant, std::map<std::string, Holdings> by_lun) {
    std::lock_guard lock(mutex_);
    TenantEntry& entry = tenants_[tenant];
    entry.measured = std::move(by_lun);
    recount_outside(entry);
}

std::uint64_t TenantLedger::held(const std::string& tenant, const std::string& pool) const {
    std::lock_guard lock(mutex_);
    const auto it = tenants_.find(tenant);
    return it == tenants_.end() ? 0 : bytes_in(it->second.held, pool);
}

std::uint64_t TenantLedger::outside(const std::string& tenant, const std::string& pool) const {
    std::lock_guard lock(mutex_);
    return outside_locked(tenant, pool);
}

std::optional<std::uint64_t> TenantLedger::room(Member member, const std::string& pool) const {
    std::lock_guard lock(mutex_);
    const auto lun = luns_.find(member);
    if (lun == luns_.end()) return std::nullopt;
    return room_locked(lun->second.tenant, pool);
}

std::optional<std::uint64_t> TenantLedger::quota(const std::string& tenant,
                                                 const std::string& pool) const {
    std::lock_guard lock(mutex_);
    const auto it = tenants_.find(tenant);
    if (it == tenants_.end()) return std::nullopt;
    const auto q = it->second.quota.find(pool);
    if (q == it->second.quota.end()) return std::nullopt;
    return q->second;
}

}  // namespace rbdtier
