#include "ceph/tenant_registry.h"

#include <rados/librados.h>

#include <cerrno>

#include "ceph/io_context.h"
#include "ceph/omap_snapshot.h"
#include "ceph/rados_op.h"

namespace rbdtier::ceph {

std::string tenant_registry_suffix(const std::string& home_pool, const std::string& image) {
    return "/" + home_pool + "/" + image;
}

std::vector<std::string> tenant_registry_keys_of(const std::map<std::string, std::string>& entries,
                                                 const std::string& suffix) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : entries) {
        // The tenant is all before the suffix and holds no '/'.
        if (key.size() > suffix.size() &&
            key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 &&
            key.find('/') == key.size() - suffix.size()) {
            keys.push_back(key);
        }
    }
    return keys;
}

Status unregister_tenant_lun(const Cluster& cluster, const std::string& tenant_pool,
                             const std::string& home_pool, const std::string& image) {
    const auto context = [&] {
        return "unregister " + home_pool + "/" + image + " from the tenants of " + tenant_pool +
               "/" + kTenantRegistryObject;
    };
    auto io = IoContext::open(cluster, tenant_pool);
    if (!io) return io.status().with_context(context());
    auto registry = read_omap_snapshot(*io, kTenantRegistryObject, "tenant LUNs");
    if (!registry) return registry.status().with_context(context());
    const std::vector<std::string> keys =
        tenant_registry_keys_of(registry->entries, tenant_registry_suffix(home_pool, image));
    if (keys.empty()) return Status::ok();
    WriteOp op(rados_create_write_op());
    if (!op) return Status::error(-ENOMEM, context());
    std::vector<const char*> names;
    std::vector<size_t> lens;
    for (const auto& k : keys) {
        names.push_back(k.c_str());
        lens.push_back(k.size());
    }
    rados_write_op_omap_rm_keys2(op.get(), names.data(), lens.data(), names.size());
    const int rc =
        rados_write_op_operate2(op.get(), io->handle(), kTenantRegistryObject, nullptr, 0);
    if (rc < 0 && rc != -ENOENT) return Status::error(rc, context());
    return Status::ok();
}

}  // namespace rbdtier::ceph
