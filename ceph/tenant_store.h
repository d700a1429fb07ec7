// TenantStore: tenant definitions kept in RADOS, so every gateway (and the CLI without a
// gateway) sees the same ones.
//
// One object, `rbdtier_tenants`, in a pool of the cluster (rbdtier.conf `tenant_pool`, default
// the first tier pool); one omap key per tenant name, whose value is the tenant as JSON:
// {"quota_bytes":{"<pool>":N,...},"bandwidth_weight":W,"priority":P} (readable with
// `rados listomapvals`). Quotas are per pool here; to_spec() turns them into the engine's
// per-tier TenantSpec. create() refuses an existing name (-EEXIST), update() an unknown one
// (-ENOENT); both are guarded by the object's version, so concurrent writers cannot lose an
// update (a lost race is retried a few times, then -ECANCELED). Names: 1-64 characters of
// [A-Za-z0-9_.-]. The IoContext must outlive the store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ceph/io_context.h"
#include "ceph/status.h"
#include "engine/tenant.h"

namespace rbdtier::ceph {

struct StoredTenant {
    // bandwidth_weight and priority are greater than 0 and at most this.
    static constexpr double kMaxWeight = 1e6;

    std::string name;
    std::map<std::string, std::uint64_t> quota_bytes;  // by pool; absent = unlimited
    double bandwidth_weight = 1.0;
    double priority = 1.0;

    bool operator==(const StoredTenant&) const = default;
    std::string encode() const;  // the omap value
    // nullopt unless `value` is a JSON object whose quotas are whole numbers of bytes and whose
    // weight and priority are numbers in range (value_problem()); `why`, when given, gets the
    // reason.
    static std::optional<StoredTenant> decode(const std::string& name, const std::string& value,
                                              std::string* why = nullptr);
    // Empty when bandwidth_weight and priority are in (0, kMaxWeight], else which is not and
    // the range ("bandwidth_weight 0 is out of range: must be greater than 0 and at most
    // 1000000"). create() and update() refuse such a tenant with -EINVAL.
    std::string value_problem() const;
    // Quotas of pools not in `tier_pools` (index = TierId) are dropped.
    TenantSpec to_spec(const std::vector<std::string>& tier_pools) const;
};

// Empty when `name` is a valid tenant name, else why not.
std::string tenant_name_problem(const std::string& name);

class TenantStore {
public:
    static constexpr const char* kObject = "rbdtier_tenants";

    explicit TenantStore(const IoContext& io) : io_(io) {}

    Result<std::vector<StoredTenant>> list() const;           // by name
    Result<StoredTenant> get(const std::string& name) const;  // -ENOENT when absent
    Status create(const StoredTenant& tenant);
    Status update(const StoredTenant& tenant);
    Status remove(const std::string& name);

private:
    // All entries and the object version (0 when the object does not exist).
    Status read_all(std::map<std::string, std::string>& entries, std::uint64_t& version) const;
    enum class Mode { kCreate, kUpdate, kRemove };
    Status write(const StoredTenant& tenant, Mode mode);

    const IoContext& io_;
};

}  // namespace rbdtier::ceph
