// TenantLedger: what each tenant holds in each tier pool on one gateway, and the quota it holds
// that against.
//
// One per gateway: the process's (process()), shared by the admission (engine/admission.h) of
// every tiered LUN the gateway serves; a replay gives its admission one of its own, the simulated
// gateway's. A LUN joins under its tenant (join(): a Member) and its holdings follow its
// migrations: an admitted migration reserves its destination at once (reserve(), refused when the
// tenant's quota there would be passed), a completed one releases its source and an abandoned one
// its reservation (release()); set_holdings() replaces what a LUN holds when its placement changed
// by another hand; leave() takes a LUN out (it closed). Bytes count extents away from their home
// only: a LUN's home pool is never among its holdings.
// What counts against a tenant's quota in a pool: what its members hold here, exactly, plus what
// it holds outside this gateway: set_measured() hands the bytes each of the tenant's LUNs held,
// measured on the cluster, by the LUN's name; the measurements of LUNs that are members (by the
// name they joined with) are left out, so a LUN of this gateway is never counted twice. A
// tenant's quotas and measurements are forgotten when its last member leaves.
// Thread-safe: every member may be called from any thread. reserve() checks and reserves in one
// step, so two LUNs of one tenant never both take the last room. No call runs the caller's code.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace rbdtier {

class TenantLedger {
public:
    using Member = std::uint64_t;  // 0: none
    // Bytes by pool name.
    using Holdings = std::map<std::string, std::uint64_t>;

    // The process's ledger: every tiered LUN of the gateway shares it.
    static std::shared_ptr<TenantLedger> process();

    // A LUN joins `tenant` holding nothing. `name` is how the tenant's measurements name it
    // (set_measured); "": measurements never name it.
    Member join(const std::string& tenant, const std::string& name = "");
    // The LUN leaves with what it holds; an unknown member is ignored.
    void leave(Member member);

    // Whether `bytes` more in `pool` fit the member's tenant's quota there (true without a quota);
    // reserve() adds them if they fit.
    bool fits(Member member, const std::string& pool, std::uint64_t bytes) const;
    bool reserve(Member member, const std::string& pool, std::uint64_t bytes);
    // Adds `bytes` in `pool` to what the member holds, whatever the quota (found there).
    void add(Member member, const std::string& pool, std::uint64_t bytes);
    // Takes `bytes` in `pool` off what the member holds; false (and none taken) if it held less.
    bool release(Member member, const std::string& pool, std::uint64_t bytes);
    // What the member holds becomes `holdings`.
    void set_holdings(Member member, Holdings holdings);

    // The tenant's quota by pool (a pool absent: unlimited there); replaces the last ones.
    void set_quotas(const std::string& tenant, Holdings quotas);
    void set_quota(const std::string& tenant, const std::string& pool,
                   std::optional<std::uint64_t> quota);
    // The bytes each of the tenant's LUNs held, by LUN name, as measured outside this ledger;
    // replaces the last measurement.
    void set_measured(const std::string& tenant, std::map<std::string, Holdings> by_lun);

    // Bytes the tenant's members hold in `pool` (reservations included).
    std::uint64_t held(const std::string& tenant, const std::string& pool) const;
    // Bytes the tenant holds in `pool` outside this ledger: its measured LUNs that are not members.
    std::uint64_t outside(const std::string& tenant, const std::string& pool) const;
    // What the member's tenant may still add in `pool`; nullopt: no quota there.
    std::optional<std::uint64_t> room(Member member, const std::string& pool) const;
    // The tenant's quota in `pool`; nullopt: none.
    std::optional<std::uint64_t> quota(const std::string& tenant, const std::string& pool) const;

private:
    struct LunEntry {
        std::string tenant;
        std::string name;
        Holdings holdings;
    };
    struct TenantEntry {
        std::size_t members = 0;
        std::map<std::string, std::size_t> member_names;  // members joined under each name
        Holdings quota;
        Holdings held;  // the members', summed
        std::map<std::string, Holdings> measured;
        Holdings outside;  // the measured LUNs that are not members, summed
    };
    // Sums `outside` again: called when the measurements or the member names changed.
    static void recount_outside(TenantEntry& tenant);
    std::uint64_t outside_locked(const std::string& tenant, const std::string& pool) const;
    std::optional<std::uint64_t> room_locked(const std::string& tenant,
                                             const std::string& pool) const;
    // The member's entry and its tenant's; null if the member is unknown.
    std::pair<LunEntry*, TenantEntry*> find_locked(Member member);

    mutable std::mutex mutex_;
    Member next_member_ = 1;
    std::map<Member, LunEntry> luns_;
    std::map<std::string, TenantEntry> tenants_;
};

}  // namespace rbdtier
