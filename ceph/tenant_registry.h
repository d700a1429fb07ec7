// The tenant registry: which tiered LUNs belong to which tenant, in RADOS. The omap of the object
// kTenantRegistryObject in the tenant pool holds one key per LUN, `<tenant>/<home pool>/<image>`
// (the home pool is `pool` or `pool/namespace`; tenant names hold no '/', image names none
// either), its value the LUN's tier pools as JSON (TenantQuota writes and reads them).
// Here: the key format, and the removal of a LUN's entries when the LUN itself is removed.
// Synchronous control-path calls; the Cluster must outlive them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ceph/cluster.h"
#include "ceph/status.h"

namespace rbdtier::ceph {

inline constexpr const char* kTenantRegistryObject = "rbdtier_tenant_luns";

// "/<home pool>/<image>": what every key of that LUN ends with, whatever its tenant.
std::string tenant_registry_suffix(const std::string& home_pool, const std::string& image);

// The keys of `entries` (a registry's omap) that name the LUN of `suffix`, under any tenant.
std::vector<std::string> tenant_registry_keys_of(const std::map<std::string, std::string>& entries,
                                                 const std::string& suffix);

// Takes the LUN `home_pool`/`image` out of the registry in `tenant_pool`, under whatever tenant
// it is registered (the LUN is being removed). No registry there, or no entry: nothing to do.
Status unregister_tenant_lun(const Cluster& cluster, const std::string& tenant_pool,
                             const std::string& home_pool, const std::string& image);

}  // namespace rbdtier::ceph
