#include "ceph/io_context.h"

namespace rbdtier::ceph {

Result<IoContext> IoContext::open(const Cluster& cluster, const std::string& pool,
                                  const std::string& ns) {
    rados_ioctx_t handle = nullptr;
    int rc = rados_ioctx_create(cluster.handle(), pool.c_str(), &handle);
    if (rc < 0) return Status::error(rc, "open pool " + pool);
    rados_ioctx_set_namespace(handle, ns.c_str());
    return IoContext(handle, pool, ns);
}

Result<IoContext> IoContext::duplicate() const {
    rados_ioctx_t handle = nullptr;
    int rc = rados_ioctx_create2(rados_ioctx_get_cluster(handle_), pool_id(), &handle);
    if (rc < 0) return Status::error(rc, "open pool " + pool_);
    rados_ioctx_set_namespace(handle, ns_.c_str());
    return IoContext(handle, pool_, ns_);
}

IoContext& IoContext::operator=(IoContext&& other) noexcept {
    if (this != &other) {
        if (handle_ != nullptr) rados_ioctx_destroy(handle_);
        handle_ = std::exchange(other.handle_, nullptr);
        pool_ = std::move(other.pool_);
        ns_ = std::move(other.ns_);
    }
    return *this;
}

IoContext::~IoContext() {
    if (handle_ != nullptr) rados_ioctx_destroy(handle_);
}

}  // namespace rbdtier::ceph
